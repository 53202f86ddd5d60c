package composition

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestManagedDecideVersionRule(t *testing.T) {
	d1, d2 := DigestPrefix+strings.Repeat("a", 64), DigestPrefix+strings.Repeat("b", 64)
	stored := &Managed{By: ManagedByImage, Version: 2, Digest: d1}
	cases := []struct {
		name    string
		m       *Managed
		version int64
		digest  string
		want    ManagedOutcome
	}{
		{"not managed yet applies", nil, 1, d1, ManagedApply},
		{"higher version applies", stored, 3, d2, ManagedApply},
		{"same version same digest is a no-op", stored, 2, d1, ManagedUnchanged},
		{"same version other digest conflicts", stored, 2, d2, ManagedConflict},
		{"lower version is a no-op", stored, 1, d2, ManagedOlder},
		{"lower version same digest is a no-op", stored, 1, d1, ManagedOlder},
	}
	for _, c := range cases {
		if got := c.m.Decide(c.version, c.digest); got != c.want {
			t.Errorf("%s: Decide(%d) = %q, want %q", c.name, c.version, got, c.want)
		}
	}
}

func TestSetManagedValidatesAndSurvivesUpdates(t *testing.T) {
	tx := NewTx(New(), time.Now())
	svc := &Service{Name: "News", SystemName: "news"}
	if err := tx.Create(svc); err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	for _, bad := range []*Managed{
		{By: "someone", Version: 1, Digest: DigestPrefix + strings.Repeat("a", 64)},
		{By: ManagedByImage, Version: 0, Digest: DigestPrefix + strings.Repeat("a", 64)},
		{By: ManagedByImage, Version: 1, Digest: "md5:abc"},
	} {
		if err := tx.SetManaged(svc.ID, bad); !errors.As(err, &ve) {
			t.Errorf("SetManaged(%+v) = %v, want a validation error", bad, err)
		}
	}
	m := &Managed{By: ManagedByImage, Version: 1, Digest: DigestPrefix + strings.Repeat("a", 64)}
	if err := tx.SetManaged(svc.ID, m); err != nil {
		t.Fatal(err)
	}
	// An update through the API (which knows nothing of Managed) keeps it.
	cur, _ := tx.View().Services.Get(svc.ID)
	upd := *cur
	upd.Managed, upd.Description = nil, "changed at home"
	if err := tx.Update(&upd); err != nil {
		t.Fatal(err)
	}
	got, _ := tx.View().Services.Get(svc.ID)
	if got.Managed == nil || *got.Managed != *m {
		t.Fatalf("after an update Managed = %+v, want %+v", got.Managed, m)
	}
	if err := tx.SetManaged(svc.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := tx.View().Services.Get(svc.ID); got.Managed != nil {
		t.Fatalf("SetManaged(nil) left %+v", got.Managed)
	}
	if err := tx.SetManaged(svc.ID+1000, m); err == nil {
		t.Fatal("SetManaged of an unknown service succeeded")
	}
}

// TestManagedSurvivesExportAndImport: a service's owner and version travel
// with the composition, through a plain import and an import by name into
// an empty home.
func TestManagedSurvivesExportAndImport(t *testing.T) {
	tx := NewTx(New(), time.Now())
	svc := &Service{Name: "News", SystemName: "news"}
	if err := tx.Create(svc); err != nil {
		t.Fatal(err)
	}
	m := Managed{By: ManagedByImage, Version: 3, Digest: DigestPrefix + strings.Repeat("c", 64)}
	if err := tx.SetManaged(svc.ID, &m); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(Export(tx.Result(), false, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	for name, imp := range map[string]func(*Tx, *Document) (*ImportStats, error){"Import": Import, "ImportByName": ImportByName} {
		var doc Document
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		into := NewTx(New(), time.Now())
		if _, err := imp(into, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, ok := into.View().ServiceBySystemName("news")
		if !ok || got.Managed == nil || *got.Managed != m {
			t.Errorf("%s: service news managed = %+v, want %+v", name, got, m)
		}
	}
}
