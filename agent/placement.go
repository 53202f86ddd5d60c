package agent

import (
	"encoding/json"

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
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}
