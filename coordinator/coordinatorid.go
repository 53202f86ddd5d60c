package coordinator

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/portolan/portolan/internal/atomicfile"
)

// IDFile holds the coordinator's id, generated on first start, under which it
// publishes its usage counters in Consul.
const IDFile = "coordinator-id"

// maxIDFileBytes bounds the id file read at start: an id is 32 characters.
const maxIDFileBytes = 4 << 10

// loadCoordinatorID returns the id kept in dir, or a new one written there
// atomically, so a restarted coordinator publishes under the same key.
func loadCoordinatorID(dir string) (string, error) {
	path := filepath.Join(dir, IDFile)
	b, err := atomicfile.ReadBounded(path, maxIDFileBytes)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if id == "" || strings.ContainsAny(id, "/ \t") {
			return "", fmt.Errorf("coordinator id file %s: not an id", path)
		}
		return id, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read coordinator id: %w", err)
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate coordinator id: %w", err)
	}
	id := hex.EncodeToString(raw)
	if err := atomicfile.Write(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write coordinator id: %w", err)
	}
	return id, nil
}
