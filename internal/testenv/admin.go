package testenv

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Create POSTs a form to the coordinator's 3scale API with its access token,
// requires 201, and returns the id of the created object (the answer's one
// wrapped object, e.g. {"service":{"id":2,...}}).
func (c *Coordinator) Create(t testing.TB, path, form string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.URL+path, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("", c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %s: %s", path, resp.Status, b)
	}
	var out map[string]struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out) != 1 {
		t.Fatalf("POST %s: not one wrapped object: %s", path, b)
	}
	for _, o := range out {
		return strconv.FormatInt(o.ID, 10)
	}
	return ""
}
