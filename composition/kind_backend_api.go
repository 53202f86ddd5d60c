package composition

import "time"

// KindBackendAPI is the kind of backend APIs.
const KindBackendAPI Kind = "backend_apis"

// BackendAPI is an upstream API that products use through backend usages.
type BackendAPI struct {
	ID              int64     `json:"id" wire:"ro"`
	AccountID       int64     `json:"account_id" wire:"ro"`
	Name            string    `json:"name"`
	SystemName      string    `json:"system_name"`
	Description     string    `json:"description"`
	PrivateEndpoint string    `json:"private_endpoint"`
	CreatedAt       time.Time `json:"created_at" wire:"ro"`
	UpdatedAt       time.Time `json:"updated_at" wire:"ro"`
}

func (e *BackendAPI) Key() int64                     { return e.ID }
func (e *BackendAPI) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *BackendAPI) created() time.Time             { return e.CreatedAt }
func (*BackendAPI) info() kindInfo                   { return backendAPIDef }

var backendAPIDef = &kindDef[BackendAPI, *BackendAPI]{
	Kind:     KindBackendAPI,
	Table:    func(c *Composition) *Table[*BackendAPI] { return &c.BackendAPIs },
	Document: func(d *Document) *[]*BackendAPI { return &d.BackendAPIs },
	Prepare: func(_ *Composition, b, old *BackendAPI) error {
		if old != nil {
			b.SystemName = old.SystemName
			return nil
		}
		b.AccountID = ProviderAccountID
		b.SystemName = defaultStr(b.SystemName, SystemName(b.Name))
		return nil
	},
	Validate:    validateBackendAPI,
	AfterCreate: func(tx *Tx, b *BackendAPI) error { return tx.createHits(OwnerBackendAPI, b.ID) },
	CheckDelete: func(c *Composition, b *BackendAPI) error {
		if _, used := c.BackendUsages.Find(func(u *BackendUsage) bool { return u.BackendAPIID == b.ID }); used {
			return Invalid("base", "cannot be deleted because it is used by at least one product")
		}
		return nil
	},
	Cascade: func(tx *Tx, b *BackendAPI) {
		for _, m := range tx.c.MetricsOf(OwnerBackendAPI, b.ID) {
			tx.purge(m)
		}
	},
}

func validateBackendAPI(c *Composition, b *BackendAPI) error {
	v := &ValidationError{}
	name(v, "name", b.Name)
	systemName(v, b.SystemName)
	if _, dup := c.BackendAPIs.Find(func(o *BackendAPI) bool { return o.SystemName == b.SystemName && o.ID != b.ID }); dup {
		v.Add("system_name", taken)
	}
	if b.PrivateEndpoint == "" {
		v.Add("private_endpoint", blank)
	} else {
		endpointURL(v, "private_endpoint", b.PrivateEndpoint)
	}
	text(v, "description", b.Description)
	return v.Err()
}
