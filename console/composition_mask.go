package console

import (
	"bytes"
	"encoding/json"

	"github.com/portolan/portolan/internal/redact"
)

// masked stands for a hidden value that is not a string (a number, an
// object) or an empty one.
const masked = "••••"

// maskedJSON pretty-prints a policy's configuration with its secrets masked
// (redact.Config): Mask of a hidden string, masked of any other hidden leaf.
// Configuration that is not JSON is not shown at all.
func maskedJSON(raw json.RawMessage) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "(configuration is not valid JSON; not shown)"
	}
	out, err := json.MarshalIndent(redact.Config(v, maskLeaf), "", "  ")
	if err != nil {
		return "(configuration could not be shown)"
	}
	return string(out)
}

// maskLeaf is what the console shows of a hidden value.
func maskLeaf(v any) any {
	if s, ok := v.(string); ok {
		return Mask(s)
	}
	return masked
}
