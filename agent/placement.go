package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/portolan/portolan/registry"
)

// placementFile is what --placement-file holds, for the app to read.
type placementFile struct {
	Instance string `json:"instance"`
	registry.Placement
}

// writePlacement replaces path atomically: a reader sees the old file or the
// new one, never half of one.
func writePlacement(path, id string, p *registry.Placement) error {
	b, err := json.MarshalIndent(placementFile{Instance: id, Placement: *p}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".placement-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
