package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	consul "github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/consulcatalog"
)

// A label cut to Consul's 512-byte Meta value limit is cut at a rune
// boundary: what Consul decodes from the request stays within the limit.
func TestConsulLabelCutMidRuneStaysWithinConsulsMetaLimit(t *testing.T) {
	label := strings.Repeat("a", 511) + "é" // 513 bytes; byte 512 is inside "é"
	a, err := New(context.Background(), Config{Command: []string{"true"}, Service: "news", Address: "127.0.0.1", CacheDir: t.TempDir(),
		Consul: "http://127.0.0.1:1", Labels: map[string]string{"zone": label, "bad": "\xff\xfe" + strings.Repeat("b", 510)},
		Logger: zerolog.Nop()})
	require.NoError(t, err)
	reg := a.consulRegistration()
	body, err := json.Marshal(reg) // as consul/api sends it
	require.NoError(t, err)
	var got consul.AgentServiceRegistration // as Consul decodes it
	require.NoError(t, json.Unmarshal(body, &got))
	for _, k := range []string{"label_zone", "label_bad"} {
		v := got.Meta[k]
		assert.LessOrEqual(t, len(v), 512, "%s: Consul receives a %d-byte Meta value and refuses the registration", k, len(v))
		assert.True(t, utf8.ValidString(reg.Meta[k]), "%s: the agent sends invalid UTF-8 in Meta", k)
	}
	assert.Equal(t, strings.Repeat("a", 511), reg.Meta["label_zone"])
}

// The same registration is taken by a real Consul.
func TestConsulLabelCutMidRuneIsRegisteredByConsul(t *testing.T) {
	cs := testenv.StartConsul(t)
	label := strings.Repeat("a", 511) + "é"
	a, err := New(context.Background(), Config{Command: []string{"true"}, Service: "news", Address: "127.0.0.1", CacheDir: t.TempDir(),
		Consul: cs.URL, Labels: map[string]string{"zone": label}, Logger: zerolog.Nop()})
	require.NoError(t, err)
	err = cs.Client(t).Agent().ServiceRegister(a.consulRegistration())
	require.NoError(t, err, "Consul refuses the agent's registration")
}

// Labels left out of Consul's Meta (past its 64 pairs, or sharing a key
// with another label) are named in one warning, not on every heartbeat.
func TestConsulLabelsLeftOutOfMetaAreWarnedOfOnce(t *testing.T) {
	labels := map[string]string{"a.b": "dot", "a_b": "underscore"}
	for i := range 70 {
		labels[fmt.Sprintf("z%02d", i)] = "v"
	}
	var logs bytes.Buffer
	a, err := New(context.Background(), Config{Command: []string{"true"}, Service: "news", Address: "127.0.0.1", CacheDir: t.TempDir(),
		Consul: "http://127.0.0.1:1", Labels: labels, Logger: zerolog.New(&logs)})
	require.NoError(t, err)
	logs.Reset()
	reg := a.consulRegistration()
	a.consulRegistration()
	assert.LessOrEqual(t, len(reg.Meta), 64)
	assert.Equal(t, "dot", reg.Meta["label_a_b"], "the first label keeps its key")
	warnings := strings.Count(logs.String(), `"level":"warn"`)
	require.Equal(t, 1, warnings, "%s", logs.String())
	assert.Contains(t, logs.String(), `a_b (as label_a_b, held by a.b)`)
	assert.Contains(t, logs.String(), `"z69"`, "the labels past 64 pairs are named")
}

// A draining instance's registration says so in Meta, for maps read from
// the catalog, while its check is still fed passing (maintenance mode, not
// the check, takes it out of Consul's DNS and health queries: runConsul);
// starting to drain leaves out no label that was in Meta before.
func TestConsulRegistrationMarksDrainingInMetaAndKeepsItsCheckFed(t *testing.T) {
	labels := map[string]string{}
	for i := range 70 {
		labels[fmt.Sprintf("z%02d", i)] = "v"
	}
	a, err := New(context.Background(), Config{Command: []string{"true"}, Service: "news", Address: "127.0.0.1", CacheDir: t.TempDir(),
		Consul: "http://127.0.0.1:1", Labels: labels, Logger: zerolog.Nop()})
	require.NoError(t, err)
	before := a.consulRegistration()
	_, marked := before.Meta[consulcatalog.MetaDraining]
	assert.False(t, marked, "not draining yet, yet Meta says draining: %v", before.Meta)

	a.st.setDraining()
	during := a.consulRegistration()
	assert.Equal(t, consulcatalog.MetaTrue, during.Meta[consulcatalog.MetaDraining], "Meta of a draining instance: %v", during.Meta)
	status, output := consulCheck(registry.StatusPassing, "ok", a.st.isDraining())
	assert.Equal(t, consul.HealthPassing, status, "a draining instance's check is fed passing (maintenance mode takes it out of the passing set), so a kill shows as its TTL expiring")
	assert.Contains(t, output, "draining")
	assert.LessOrEqual(t, len(during.Meta), 64, "Consul refuses more than 64 Meta pairs")
	delete(during.Meta, consulcatalog.MetaDraining)
	assert.Equal(t, before.Meta, during.Meta, "the labels in Meta changed when draining began")
	assert.NotEqual(t, fingerprint(before), fingerprint(a.consulRegistration()), "draining must register again")
}
