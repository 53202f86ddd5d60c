// Package httpjson writes JSON answers, the one way Portolan's own HTTP APIs
// (agent protocol, local agent API, Portolan's admin additions) do.
package httpjson

import (
	"encoding/json"
	"net/http"
)

// Write answers status with v as JSON; a value that cannot be encoded is a 500
// with a JSON error, never a half-written body.
func Write(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// Error answers status with Portolan's JSON error body, {"error": msg}: the
// one error shape of the agent protocol, the agent's local API and
// Portolan's admin additions.
func Error(w http.ResponseWriter, status int, msg string) {
	Write(w, status, map[string]string{"error": msg})
}
