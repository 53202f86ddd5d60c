package swagger

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// YAML documents are decoded into the same tree as JSON ones, aliases and
// merge keys expanded under maxNodes and maxText.

func decodeYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	if doc.Kind == 0 {
		return nil, errors.New("parse YAML: the document is empty")
	}
	return fromYAML(&doc, 0, &yamlBudget{})
}

// yamlBudget is what expanding a YAML document has used so far of maxNodes
// and maxText.
type yamlBudget struct {
	values int
	text   int
}

// countYAML counts one step of expanding a YAML document against maxNodes:
// a value, a merge, or a key a merge copies. A merge of an empty mapping
// makes no value, yet nested merges of them are as much work as an alias
// bomb, so they count too.
func countYAML(n *yamlBudget) error {
	if n.values++; n.values > maxNodes {
		return fmt.Errorf("parse YAML: more than %d values (aliases and merges expanded): "+
			"the document expands too far; write repeated parts out instead of nesting anchors", maxNodes)
	}
	return nil
}

// countYAMLText counts the text of a key or scalar at node against maxText,
// each time an alias or merge repeats it.
func countYAMLText(n *yamlBudget, node *yaml.Node) error {
	if n.text += len(node.Value); n.text > maxText {
		return fmt.Errorf("parse YAML: line %d: the document expands to more than %d MiB of text (aliases and merges expanded): "+
			"write long repeated parts out instead of aliasing them", node.Line, maxText>>20)
	}
	return nil
}

func fromYAML(node *yaml.Node, depth int, n *yamlBudget) (any, error) {
	if err := countYAML(n); err != nil {
		return nil, err
	}
	if depth >= maxDepth {
		return nil, fmt.Errorf("parse YAML: line %d: nested deeper than %d levels", node.Line, maxDepth)
	}
	switch node.Kind {
	case yaml.DocumentNode:
		if len(node.Content) == 0 {
			return nil, errors.New("parse YAML: the document is empty")
		}
		return fromYAML(node.Content[0], depth, n)
	case yaml.AliasNode:
		return fromYAML(node.Alias, depth+1, n)
	case yaml.SequenceNode:
		a := make([]any, 0, len(node.Content))
		for _, c := range node.Content {
			v, err := fromYAML(c, depth+1, n)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	case yaml.MappingNode:
		o := newObject(len(node.Content) / 2)
		if err := mergeYAML(o, node, depth, n); err != nil {
			return nil, err
		}
		return o, nil
	case yaml.ScalarNode:
		if err := countYAMLText(n, node); err != nil {
			return nil, err
		}
		return yamlScalar(node)
	}
	return nil, fmt.Errorf("parse YAML: line %d: unexpected node", node.Line)
}

// mergeYAML adds the pairs of mapping node to o; keys already in o win,
// which is what YAML merge keys ("<<") need. A key the mapping itself gives
// twice is refused (TestParseRefusesDuplicateKeys): YAML 1.2 keys are
// unique, and the schema check (yaml.v3 in libopenapi) refuses it too.
func mergeYAML(o *object, node *yaml.Node, depth int, n *yamlBudget) error {
	own := make(map[string]int, len(node.Content)/2) // key → line
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return fmt.Errorf("parse YAML: line %d: a mapping key must be a scalar", k.Line)
		}
		if k.ShortTag() == "!!merge" {
			if err := mergeYAMLValue(o, v, depth, n); err != nil {
				return err
			}
			continue
		}
		if err := countYAMLText(n, k); err != nil {
			return err
		}
		if line, dup := own[k.Value]; dup {
			return fmt.Errorf("parse YAML: line %d: key %q twice in one mapping (first at line %d)", k.Line, k.Value, line)
		}
		own[k.Value] = k.Line
		val, err := fromYAML(v, depth+1, n)
		if err != nil {
			return err
		}
		o.set(k.Value, val)
	}
	return nil
}

// mergeYAMLValue merges the value of a merge key: a mapping, an alias of
// one, or a sequence of them, earlier ones winning. Every step and every
// copied key counts against maxNodes.
func mergeYAMLValue(o *object, v *yaml.Node, depth int, n *yamlBudget) error {
	if err := countYAML(n); err != nil {
		return err
	}
	if depth >= maxDepth {
		return fmt.Errorf("parse YAML: line %d: nested deeper than %d levels", v.Line, maxDepth)
	}
	switch v.Kind {
	case yaml.AliasNode:
		return mergeYAMLValue(o, v.Alias, depth+1, n)
	case yaml.SequenceNode:
		for _, c := range v.Content {
			if err := mergeYAMLValue(o, c, depth+1, n); err != nil {
				return err
			}
		}
		return nil
	case yaml.MappingNode:
		m := newObject(len(v.Content) / 2)
		if err := mergeYAML(m, v, depth+1, n); err != nil {
			return err
		}
		for _, k := range m.keys {
			if _, ok := o.vals[k]; !ok {
				if err := countYAML(n); err != nil {
					return err
				}
				o.set(k, m.vals[k])
			}
		}
		return nil
	}
	return fmt.Errorf("parse YAML: line %d: a merge key (<<) needs a mapping", v.Line)
}

func yamlScalar(node *yaml.Node) (any, error) {
	switch node.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := node.Decode(&b); err != nil {
			return nil, fmt.Errorf("parse YAML: line %d: %w", node.Line, err)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := node.Decode(&i); err == nil {
			return json.Number(strconv.FormatInt(i, 10)), nil
		}
		var u uint64
		if err := node.Decode(&u); err == nil {
			return json.Number(strconv.FormatUint(u, 10)), nil
		}
		return nil, fmt.Errorf("parse YAML: line %d: integer %q out of range", node.Line, node.Value)
	case "!!float":
		var f float64
		if err := node.Decode(&f); err != nil {
			return nil, fmt.Errorf("parse YAML: line %d: %w", node.Line, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("parse YAML: line %d: %s has no JSON form", node.Line, node.Value)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	}
	return node.Value, nil // !!str, !!timestamp, !!binary and custom tags
}
