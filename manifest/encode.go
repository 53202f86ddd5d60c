package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MarshalJSON writes the document as its entity's fields with apiVersion
// and kind first.
func (d Document) MarshalJSON() ([]byte, error) {
	e := d.entity()
	if e == nil {
		return nil, fmt.Errorf("manifest: document of unknown kind %q", d.Kind)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	head := `{"apiVersion":"` + APIVersion + `","kind":"` + string(d.Kind) + `"`
	if len(body) > 2 {
		head += ","
	}
	return append([]byte(head), body[1:]...), nil
}

// UnmarshalJSON reads one document strictly, as Decode does.
func (d *Document) UnmarshalJSON(b []byte) error {
	docs, err := Decode(bytes.NewReader(b), "document")
	if err != nil {
		return err
	}
	if len(docs) != 1 {
		return fmt.Errorf("manifest: want one document, got %d", len(docs))
	}
	*d = docs[0]
	return nil
}

// Encode writes docs as "yaml" (documents separated by "---") or "json" (an
// array), in Decode's format: fields in the order of FORMAT.md, absent
// where empty.
func Encode(w io.Writer, docs []Document, format string) error {
	switch format {
	case "json":
		if docs == nil {
			docs = []Document{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(docs); err != nil {
			return fmt.Errorf("encode documents: %w", err)
		}
		return nil
	case "yaml":
		if len(docs) == 0 {
			return nil // no documents: an empty stream
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		for i := range docs {
			n, err := yamlNode(&docs[i])
			if err != nil {
				return err
			}
			if err := enc.Encode(n); err != nil {
				return fmt.Errorf("encode %s %q: %w", docs[i].Kind, docs[i].Name(), err)
			}
		}
		if err := enc.Close(); err != nil {
			return fmt.Errorf("encode documents: %w", err)
		}
		return nil
	}
	return fmt.Errorf("encode documents: format %q is not one of yaml, json", format)
}

// yamlNode is a document as a YAML node: its JSON read back as YAML keeps
// the fields' order, then styled as YAML writes by hand (block style, plain
// scalars where they read back the same, multi-line text as a literal).
func yamlNode(d *Document) (*yaml.Node, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode %s %q: %w", d.Kind, d.Name(), err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("encode %s %q: %w", d.Kind, d.Name(), err)
	}
	restyle(&n)
	return &n, nil
}

func restyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && strings.Contains(n.Value, "\n") && !strings.ContainsAny(n.Value, "\r\t") {
		n.Style = yaml.LiteralStyle
	}
	if n.Kind == yaml.ScalarNode && n.Value == "<<" {
		n.Style = yaml.DoubleQuotedStyle // plain, it is a merge key, which Decode refuses
	}
	if (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && len(n.Content) == 0 {
		n.Style = yaml.FlowStyle // {} and [] as such
	}
	for _, c := range n.Content {
		restyle(c)
	}
}
