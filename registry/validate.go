package registry

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/portolan/portolan/composition"
)

// Bounds of the free-text fields of a registration.
const (
	maxServiceLen      = 255
	maxHostnameLen     = 253
	maxAgentVersionLen = 256
	maxCheckLen        = 1024
)

// validateID checks an instance id: 1 to MaxIDLen characters of
// [A-Za-z0-9._:-], but not "." or "..", which no URL keeps as a path
// segment.
func validateID(id string) error {
	if id == "" {
		return &composition.FieldError{Field: "id", Message: "is required"}
	}
	if id == "." || id == ".." {
		// A path segment URLs resolve away: the agent API could not name it.
		return &composition.FieldError{Field: "id", Message: fmt.Sprintf("must not be %q: use letters or digits too", id)}
	}
	if len(id) > MaxIDLen {
		return &composition.FieldError{Field: "id", Message: fmt.Sprintf("is too long (%d characters, at most %d)", len(id), MaxIDLen)}
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' && c != ':' {
			return &composition.FieldError{Field: "id", Message: fmt.Sprintf("has an invalid character %q: use letters, digits, '.', '_', '-', ':'", rune(c))}
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validSystemName matches composition's rule for system_name: letters,
// digits and _ . - / [ ].
func validSystemName(s string) bool {
	if s == "" || len(s) > maxServiceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isAlnum(c), c == '_', c == '.', c == '-', c == '/', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

func validateRegistration(reg *Registration) error {
	switch {
	case reg.Service == "":
		return &composition.FieldError{Field: "service", Message: "is required (the system_name of the service the container implements)"}
	case !validSystemName(reg.Service):
		return &composition.FieldError{Field: "service", Message: "is not a valid system_name: use letters, digits, '_', '-', '.', '/', '[', ']' (at most 255)"}
	case reg.Address == "":
		return &composition.FieldError{Field: "address", Message: "is required"}
	case !validAddress(reg.Address):
		return &composition.FieldError{Field: "address", Message: "must be an IP address or a hostname"}
	case reg.Port < 0 || reg.Port > 65535:
		return &composition.FieldError{Field: "port", Message: fmt.Sprintf("must be between 0 and 65535 (got %d)", reg.Port)}
	case len(reg.Hostname) > maxHostnameLen:
		return &composition.FieldError{Field: "hostname", Message: fmt.Sprintf("is too long (at most %d bytes)", maxHostnameLen)}
	case len(reg.AgentVersion) > maxAgentVersionLen:
		return &composition.FieldError{Field: "agent_version", Message: fmt.Sprintf("is too long (at most %d bytes)", maxAgentVersionLen)}
	case len(reg.Check) > maxCheckLen:
		return &composition.FieldError{Field: "check", Message: fmt.Sprintf("is too long (at most %d bytes)", maxCheckLen)}
	case reg.TTL < 0:
		return &composition.FieldError{Field: "ttl", Message: "must not be negative"}
	}
	if err := validateLabels(reg.Labels); err != nil {
		return err
	}
	if reg.Status != "" {
		if err := validateStatus(reg.Status); err != nil {
			return err
		}
	}
	return validateOutput(reg.Output)
}

func validateLabels(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return &composition.FieldError{Field: "labels", Message: fmt.Sprintf("has %d labels (at most %d)", len(labels), MaxLabels)}
	}
	total := 0
	for k, v := range labels {
		total += len(k) + len(v)
		switch {
		case k == "":
			return &composition.FieldError{Field: "labels", Message: "has an empty key"}
		case len(k) > MaxLabelLen:
			return &composition.FieldError{Field: "labels", Message: fmt.Sprintf("has a key longer than %d bytes", MaxLabelLen)}
		case len(v) > MaxLabelLen:
			return &composition.FieldError{Field: "labels", Message: fmt.Sprintf("value of %q is longer than %d bytes", k, MaxLabelLen)}
		}
	}
	if total > MaxLabelBytes {
		return &composition.FieldError{Field: "labels", Message: fmt.Sprintf("has %d bytes of keys and values (at most %d): keep labels short", total, MaxLabelBytes)}
	}
	return nil
}

func validateHeartbeat(hb *Heartbeat) error {
	if hb.Status == "" {
		return &composition.FieldError{Field: "status", Message: "is required (passing, warning or critical)"}
	}
	if err := validateStatus(hb.Status); err != nil {
		return err
	}
	return validateOutput(hb.Output)
}

func validateStatus(s string) error {
	switch s {
	case StatusPassing, StatusWarning, StatusCritical:
		return nil
	}
	return &composition.FieldError{Field: "status", Message: fmt.Sprintf("must be passing, warning or critical (got %q)", truncate(s, 32))}
}

func validateOutput(s string) error {
	if len(s) > MaxOutputLen {
		return &composition.FieldError{Field: "output", Message: fmt.Sprintf("is too long (%d bytes, at most %d)", len(s), MaxOutputLen)}
	}
	return nil
}

// validAddress accepts an IP address (v4 or v6) or a hostname of
// letter-digit-hyphen labels (underscores tolerated, as container names
// carry them).
func validAddress(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	if len(s) > maxHostnameLen {
		return false
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
