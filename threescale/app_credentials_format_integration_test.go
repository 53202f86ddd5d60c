package threescale_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Credentials given to Application Create and Application Key Create are
// held to porta's own validations (app/models/cinstance.rb and
// app/models/application_key.rb): what 3scale refuses, Portolan refuses
// with the same field and message, so that a composition written against
// Portolan also loads into 3scale.

// TestApplicationIDIsHeldToPortasFormat: porta's application_id is 4 to 255
// printable characters without space or slash.
func TestApplicationIDIsHeldToPortasFormat(t *testing.T) {
	s := newAKSetup(t)
	for _, c := range []struct {
		id, want string
	}{
		{"abc", "is too short (minimum is 4 characters)"},
		{"app/id", "is invalid"},
		{strings.Repeat("a", 256), "is too long (maximum is 255 characters)"},
	} {
		form := url.Values{"plan_id": {s64(s.partner.ID)}, "application_id": {c.id}}
		code, body := formCall(t, s.co, http.MethodPost, s.apps+".json", form)
		assert.Equal(t, []string{c.want}, fieldErrors(t, code, body)["application_id"], c.id)
	}
	// XML: each of Rails' messages, format first, as an error element.
	form := url.Values{"plan_id": {s64(s.partner.ID)}, "application_id": {"ab/"}}
	code, body := formCall(t, s.co, http.MethodPost, s.apps+".xml", form)
	assert.Equal(t, http.StatusUnprocessableEntity, code, "%s", body)
	assert.Regexp(t, `<errors><error>[^<]* is invalid</error><error>[^<]* is too short \(minimum is 4 characters\)</error></errors>`, string(body))
	app := s.create(t, s.partner.ID, url.Values{"application_id": {"abcd"}})
	assert.Equal(t, "abcd", app["application_id"], "4 characters are enough")
}

// TestUserKeyIsHeldToPortasFormat: porta's user_key is word characters,
// dashes and dots, or base64 without slashes; 256 at most.
func TestUserKeyIsHeldToPortasFormat(t *testing.T) {
	s := newAKSetup(t)
	for _, c := range []struct {
		key, want string
	}{
		{"key!bang", "is invalid"},
		{"key/slash", "is invalid"},
		{strings.Repeat("k", 257), "is too long (maximum is 256 characters)"},
	} {
		form := url.Values{"plan_id": {s64(s.basic.ID)}, "user_key": {c.key}}
		code, body := formCall(t, s.co, http.MethodPost, s.apps+".json", form)
		assert.Equal(t, []string{c.want}, fieldErrors(t, code, body)["user_key"], c.key)
	}
	for _, k := range []string{"my_key-1.0", "bXlrZXk=", "a"} {
		app := s.create(t, s.basic.ID, url.Values{"user_key": {k}})
		assert.Equal(t, k, app["user_key"])
	}
	// Application Update takes a user_key too, and checks it the same way.
	app := s.create(t, s.basic.ID, nil)
	code, body := formCall(t, s.co, http.MethodPut, s.apps+"/"+idOf(t, app)+".json", url.Values{"user_key": {"new key"}})
	assert.Equal(t, []string{"is invalid"}, fieldErrors(t, code, body)["user_key"])
}

// TestApplicationKeyOnCreateIsHeldToKeyRules: Application Create builds its
// application_key values as ApplicationKey records, so a key 3scale's Key
// Create refuses makes the application invalid.
func TestApplicationKeyOnCreateIsHeldToKeyRules(t *testing.T) {
	s := newAKSetup(t)
	for _, k := range []string{"abc", strings.Repeat("k", 256)} {
		form := url.Values{"plan_id": {s64(s.partner.ID)}, "application_key": {k}}
		code, body := formCall(t, s.co, http.MethodPost, s.apps+".json", form)
		assert.Equal(t, []string{"is invalid"}, fieldErrors(t, code, body)["application_keys"], k)
	}
}

// TestEmptyApplicationKeyIsRefused: porta generates a key only when no key
// parameter is sent (add(params[:key]): nil, not ""); an empty one is a
// value too short.
func TestEmptyApplicationKeyIsRefused(t *testing.T) {
	s := newAKSetup(t)
	app := s.create(t, s.partner.ID, nil)
	code, body := formCall(t, s.co, http.MethodPost, s.apps+"/"+idOf(t, app)+"/keys.json", url.Values{"key": {""}})
	assert.Contains(t, fieldErrors(t, code, body)["value"], "is too short (minimum is 5 characters)")
}
