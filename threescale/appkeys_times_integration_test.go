package threescale_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// porta keeps each application key in a row of its own, with timestamps
// (3scale/porta app/models/application_key.rb: an ApplicationRecord whose
// value is attr_readonly, so a key is never updated). Application Key List
// (app/controllers/admin/api/buyer_application_keys_controller.rb) shows
// each key's own created_at and updated_at: in JSON through
// app/representers/application_key_representer.rb (value, created_at,
// updated_at), in XML through ApplicationKey#to_xml (<key> with value,
// updated_at, created_at). A key created with its application dates from
// the application's creation.
func TestApplicationKeysHaveTheirOwnTimes(t *testing.T) {
	s := newAKSetup(t)
	app := s.create(t, s.partner.ID, url.Values{"name": {"Partner"}, "application_key": {"first-key"}})
	created, ok := app["created_at"].(string)
	require.True(t, ok, "created_at in %v", app)
	appCreated := parseTime(t, created)
	keys := s.apps + "/" + idOf(t, app) + "/keys"
	add := func(path, key string) {
		time.Sleep(1100 * time.Millisecond) // 3scale's timestamps are in seconds
		decodeCall(t, s.co, http.MethodPost, path, url.Values{"key": {key}}, http.StatusCreated, &struct{}{})
	}
	add(keys+".json", "second-key")
	add(keys+".xml", "third-key")
	// An update of the application is none of its keys'.
	time.Sleep(1100 * time.Millisecond)
	decodeCall(t, s.co, http.MethodPut, s.apps+"/"+idOf(t, app)+".json", url.Values{"description": {"changed"}}, http.StatusOK, &akApp{})

	type keyTimes struct{ created, updated time.Time }
	jsonTimes := func() map[string]keyTimes {
		var l struct {
			Keys []struct {
				Key struct {
					Value     string `json:"value"`
					CreatedAt string `json:"created_at"`
					UpdatedAt string `json:"updated_at"`
				} `json:"key"`
			} `json:"keys"`
		}
		decodeCall(t, s.co, http.MethodGet, keys+".json", nil, http.StatusOK, &l)
		out := map[string]keyTimes{}
		for _, k := range l.Keys {
			out[k.Key.Value] = keyTimes{parseTime(t, k.Key.CreatedAt), parseTime(t, k.Key.UpdatedAt)}
		}
		return out
	}
	xmlTimes := func() map[string]keyTimes {
		var x struct {
			Keys []struct {
				Value     string `xml:"value"`
				UpdatedAt string `xml:"updated_at"`
				CreatedAt string `xml:"created_at"`
			} `xml:"key"`
		}
		decodeCall(t, s.co, http.MethodGet, keys+".xml", nil, http.StatusOK, &x)
		out := map[string]keyTimes{}
		for _, k := range x.Keys {
			out[k.Value] = keyTimes{parseTime(t, k.CreatedAt), parseTime(t, k.UpdatedAt)}
		}
		return out
	}
	check := func(got map[string]keyTimes, format string) {
		t.Helper()
		require.Len(t, got, 3, format)
		first, second, third := got["first-key"], got["second-key"], got["third-key"]
		assert.Equal(t, appCreated, first.created, "%s: the application's key dates from its creation", format)
		assert.True(t, second.created.After(first.created), "%s: second-key created %v, after %v", format, second.created, first.created)
		assert.True(t, third.created.After(second.created), "%s: third-key created %v, after %v", format, third.created, second.created)
		for name, k := range got {
			assert.Equal(t, k.created, k.updated, "%s: %s was never updated", format, name)
		}
	}
	check(jsonTimes(), "JSON")
	check(xmlTimes(), "XML")
	_, body := formCall(t, s.co, http.MethodGet, keys+".xml", nil)
	assert.Equal(t, []string{"keys", "keys/key", "keys/key/value", "keys/key/updated_at", "keys/key/created_at"},
		elementPaths(t, body)[:5], "ApplicationKey#to_xml's order")

	// The times are stored: a restart keeps them.
	before := jsonTimes()
	s.co.Stop()
	s.co.Start()
	assert.Equal(t, before, jsonTimes())

	// A key deleted and added again is a new key.
	decodeCall(t, s.co, http.MethodDelete, keys+"/second-key.json", nil, http.StatusOK, &akApp{})
	add(keys+".json", "second-key")
	again := jsonTimes()["second-key"]
	assert.True(t, again.created.After(before["third-key"].created), "re-added at %v", again.created)
}
