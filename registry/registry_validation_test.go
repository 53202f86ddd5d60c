package registry

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

func TestValidation(t *testing.T) {
	f := newFixture(t)
	long := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'x'
		}
		return string(b)
	}
	manyLabels := map[string]string{}
	for i := range MaxLabels + 1 {
		manyLabels[long(i+1)] = "v"
	}
	cases := []struct {
		name  string
		id    string
		edit  func(*Registration)
		field string
	}{
		{"empty id", "", nil, "id"},
		{"long id", long(MaxIDLen + 1), nil, "id"},
		{"bad id char", "a/b", nil, "id"},
		{"bad id space", "a b", nil, "id"},
		{"no service", "ok", func(r *Registration) { r.Service = "" }, "service"},
		{"bad service", "ok", func(r *Registration) { r.Service = "news api!" }, "service"},
		{"no address", "ok", func(r *Registration) { r.Address = "" }, "address"},
		{"bad address", "ok", func(r *Registration) { r.Address = "not an address" }, "address"},
		{"bad hostname label", "ok", func(r *Registration) { r.Address = "-bad.example" }, "address"},
		{"negative port", "ok", func(r *Registration) { r.Port = -1 }, "port"},
		{"port too big", "ok", func(r *Registration) { r.Port = 65536 }, "port"},
		{"too many labels", "ok", func(r *Registration) { r.Labels = manyLabels }, "labels"},
		{"long label key", "ok", func(r *Registration) { r.Labels = map[string]string{long(MaxLabelLen + 1): "v"} }, "labels"},
		{"long label value", "ok", func(r *Registration) { r.Labels = map[string]string{"k": long(MaxLabelLen + 1)} }, "labels"},
		{"empty label key", "ok", func(r *Registration) { r.Labels = map[string]string{"": "v"} }, "labels"},
		{"labels too large together", "ok", func(r *Registration) {
			r.Labels = map[string]string{}
			for i := range MaxLabelBytes/MaxLabelLen + 1 {
				r.Labels[fmt.Sprint("k", i)] = long(MaxLabelLen - 3)
			}
		}, "labels"},
		{"bad status", "ok", func(r *Registration) { r.Status = "draining" }, "status"},
		{"long output", "ok", func(r *Registration) { r.Output = long(MaxOutputLen + 1) }, "output"},
		{"negative ttl", "ok", func(r *Registration) { r.TTL = -1 }, "ttl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := reg("news")
			if c.edit != nil {
				c.edit(&r)
			}
			_, err := f.r.Register(c.id, r)
			var fe *composition.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, c.field, fe.Field, err.Error())
		})
	}
	assert.Equal(t, 0, f.r.Len())

	ok := []struct{ id, addr string }{
		{"news-7f3a.host_1:abc", "10.0.0.1"}, {"x", "::1"}, {"y", "news-api"}, {"z", "news_api.svc.cluster.local."},
		{long(MaxIDLen), "fe80::1%eth0"},
	}
	for _, c := range ok {
		r := reg("news/v1")
		r.Address = c.addr
		r.Labels = map[string]string{"k": long(MaxLabelLen)}
		_, err := f.r.Register(c.id, r)
		assert.NoError(t, err, "%s at %s", c.id, c.addr)
	}

	_, err := f.r.Heartbeat("x", Heartbeat{})
	var fe *composition.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "status", fe.Field)
	_, err = f.r.Heartbeat("x", Heartbeat{Status: "draining"})
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "status", fe.Field)
	_, err = f.r.Heartbeat("x", Heartbeat{Status: StatusPassing, Output: long(MaxOutputLen + 1)})
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "output", fe.Field)
	require.ErrorAs(t, f.r.Drain("a b"), &fe)
	require.ErrorAs(t, f.r.Deregister(""), &fe)
}
