package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/portolan/portolan/internal/atomicfile"
	"github.com/portolan/portolan/registry"
)

// placementFile is what --placement-file holds, for the app to read.
type placementFile struct {
	Instance string `json:"instance"`
	registry.Placement
}

// writePlacement replaces path atomically with the instance's placement.
func writePlacement(path, id string, p *registry.Placement) error {
	b, err := json.MarshalIndent(placementFile{Instance: id, Placement: *p}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("placement file: %w", err)
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}
