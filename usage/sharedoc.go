package usage

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// usageDoc is one coordinator's current counters of one service, as stored
// in Consul: {"service":2,"counters":[[app,metric,"period",start,value],...]}
// with start in unix seconds (0 for eternity). Rows keep it compact.
type usageDoc struct {
	Service  int64          `json:"service"`
	Counters []shareCounter `json:"counters"`
}

type shareCounter struct {
	App, Metric int64
	Period      string
	Start       int64
	Value       int64
}

func (c shareCounter) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{c.App, c.Metric, c.Period, c.Start, c.Value})
}

func (c *shareCounter) UnmarshalJSON(b []byte) error {
	var row []json.RawMessage
	if err := json.Unmarshal(b, &row); err != nil {
		return err
	}
	if len(row) != 5 {
		return fmt.Errorf("counter has %d fields, want 5", len(row))
	}
	for i, dst := range []any{&c.App, &c.Metric, &c.Period, &c.Start, &c.Value} {
		if err := json.Unmarshal(row[i], dst); err != nil {
			return fmt.Errorf("counter field %d: %w", i, err)
		}
	}
	return nil
}

// decodeUsageDoc decodes and checks a peer's document of service.
func decodeUsageDoc(b []byte, service int64) (usageDoc, error) {
	var doc usageDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return usageDoc{}, fmt.Errorf("decode usage document: %w", err)
	}
	if doc.Service != service {
		return usageDoc{}, fmt.Errorf("usage document of service %d under the key of service %d", doc.Service, service)
	}
	for i, c := range doc.Counters {
		if _, ok := periodIndex[c.Period]; !ok {
			return usageDoc{}, fmt.Errorf("counters[%d]: unknown period %q", i, c.Period)
		}
		if c.App <= 0 || c.Metric <= 0 || c.Start < 0 || c.Value < 0 {
			return usageDoc{}, fmt.Errorf("counters[%d]: invalid application, metric, start or value", i)
		}
	}
	return doc, nil
}
