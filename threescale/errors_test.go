package threescale

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portolan/portolan/composition"
	"github.com/stretchr/testify/assert"
)

// domainValidation and domainNotFound stand in for the composition
// package's error types.
type domainValidation struct{ fields map[string][]string }

func (e *domainValidation) Error() string                    { return "invalid" }
func (e *domainValidation) FieldErrors() map[string][]string { return e.fields }

type domainNotFound struct{ what string }

func (e *domainNotFound) Error() string   { return e.what + " not found" }
func (e *domainNotFound) HTTPStatus() int { return http.StatusNotFound }

type domainStatus struct {
	status int
	msg    string
}

func (e domainStatus) Error() string   { return e.msg }
func (e domainStatus) HTTPStatus() int { return e.status }

func TestWriteError(t *testing.T) {
	xmlHeader := `<?xml version="1.0" encoding="UTF-8"?>`
	tests := []struct {
		name     string
		err      error
		status   int
		json     string
		xml      string
		noDetail string
	}{
		{"validation", &composition.ValidationError{Fields: map[string][]string{"system_name": {"can't be blank", "is invalid"}, "name": {"can't be blank"}, "base": {"Plan is locked"}}},
			422, `{"errors":{"base":["Plan is locked"],"name":["can't be blank"],"system_name":["can't be blank","is invalid"]}}`,
			xmlHeader + `<errors><error>Plan is locked</error><error>Name can't be blank</error><error>System name can't be blank</error><error>System name is invalid</error></errors>`, ""},
		{"field error", &composition.FieldError{Field: "delta", Message: "is not a number"},
			422, `{"errors":{"delta":["is not a number"]}}`, xmlHeader + `<errors><error>Delta is not a number</error></errors>`, ""},
		{"field _id humanized", &composition.FieldError{Field: "metric_id", Message: "must exist"},
			422, `{"errors":{"metric_id":["must exist"]}}`, xmlHeader + `<errors><error>Metric must exist</error></errors>`, ""},
		{"wrapped domain validation", fmt.Errorf("create service: %w", &domainValidation{map[string][]string{"name": {"is too long"}}}),
			422, `{"errors":{"name":["is too long"]}}`, xmlHeader + `<errors><error>Name is too long</error></errors>`, ""},
		{"not found", ErrNotFound, 404, `{"status":"Not found"}`, xmlHeader + `<error>Not found</error>`, ""},
		{"wrapped not found", fmt.Errorf("metric 7: %w", ErrNotFound), 404, `{"status":"Not found"}`, xmlHeader + `<error>Not found</error>`, ""},
		{"domain not found", fmt.Errorf("load: %w", &domainNotFound{"service 3"}), 404, `{"status":"Not found"}`, xmlHeader + `<error>Not found</error>`, ""},
		{"forbidden", Forbidden(""), 403, `{"error":"Access denied"}`, xmlHeader + `<error>Access denied</error>`, ""},
		{"forbidden message", Forbidden("Your access token does not have the correct permissions"), 403,
			`{"error":"Your access token does not have the correct permissions"}`,
			xmlHeader + `<error>Your access token does not have the correct permissions</error>`, ""},
		{"bad request", BadRequest(`bad <input> & "stuff"`), 400, `{"error":"bad \u003cinput\u003e \u0026 \"stuff\""}`,
			xmlHeader + `<error>bad &lt;input&gt; &amp; "stuff"</error>`, ""},
		{"too large", TooLarge(1024), 413, `{"error":"request body exceeds 1024 bytes"}`, xmlHeader + `<error>request body exceeds 1024 bytes</error>`, ""},
		{"conflict", fmt.Errorf("ctx: %w", Conflict("system_name already exists")), 409, `{"error":"system_name already exists"}`,
			xmlHeader + `<error>system_name already exists</error>`, "ctx"},
		{"domain 4xx uses its own message", fmt.Errorf("internal path /var/db: %w", domainStatus{http.StatusConflict, "stale revision"}), 409,
			`{"error":"stale revision"}`, xmlHeader + `<error>stale revision</error>`, "/var/db"},
		{"domain 5xx hides detail", domainStatus{http.StatusServiceUnavailable, "bolt: database locked at /var/db"}, 503,
			`{"error":"Service Unavailable"}`, xmlHeader + `<error>Service Unavailable</error>`, "bolt"},
		{"domain bogus status", domainStatus{200, "ok?"}, 500, `{"error":"Internal Server Error"}`, xmlHeader + `<error>Internal Server Error</error>`, "ok?"},
		{"unknown", errors.New("open /etc/secret: permission denied"), 500, `{"error":"Internal Server Error"}`,
			xmlHeader + `<error>Internal Server Error</error>`, "secret"},
		{"nil", nil, 500, `{"error":"Internal Server Error"}`, xmlHeader + `<error>Internal Server Error</error>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.status, StatusOf(tt.err))
			for _, f := range []Format{JSON, XML} {
				w := httptest.NewRecorder()
				WriteError(w, f, tt.err)
				assert.Equal(t, tt.status, w.Code)
				assert.Equal(t, f.ContentType(), w.Header().Get("Content-Type"))
				want := tt.json
				if f == XML {
					want = tt.xml
				}
				assert.Equal(t, want, w.Body.String())
				if tt.noDetail != "" {
					assert.NotContains(t, w.Body.String(), tt.noDetail)
				}
			}
		})
	}
}

func TestErrorHelpers(t *testing.T) {
	assert.Equal(t, "Access denied", Forbidden("").Error())
	assert.Equal(t, "nope", BadRequest("nope").Error())
	assert.Equal(t, http.StatusBadRequest, StatusOf(fmt.Errorf("wrapped: %w", BadRequest("x"))))
	cause := errors.New("cause")
	err := badRequestf(cause, "malformed: %v", cause)
	assert.ErrorIs(t, err, cause)
	assert.Equal(t, "malformed: cause", err.Error())
}
