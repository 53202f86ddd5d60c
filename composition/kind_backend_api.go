package composition

// A backend API gets its hits metric when it is created, and cannot be deleted
// while a product uses it.
var backendAPIDef = &kindDef[BackendAPI, *BackendAPI]{
	Kind:     KindBackendAPI,
	Table:    func(c *Composition) *Table[*BackendAPI] { return &c.BackendAPIs },
	Document: func(d *Document) *[]*BackendAPI { return &d.BackendAPIs },
	Keep:     func(b, old *BackendAPI) { b.SystemName = old.SystemName },
	Prepare: func(_ *Composition, b, old *BackendAPI) error {
		if old == nil {
			b.AccountID = ProviderAccountID
			b.SystemName = defaultStr(b.SystemName, SystemName(b.Name))
		}
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
	NaturalKey: func(_ *keyIndex, b *BackendAPI) (string, string, error) {
		return childKey("", "backend", b.SystemName), "", nil
	},
	Derived: []string{"account_id"},
}

func validateBackendAPI(c *Composition, b *BackendAPI, v *ValidationError) error {
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
	return nil
}
