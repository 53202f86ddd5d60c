package composition

// A custom policy of the policy registry, one per name and version, with
// the JSON schema of its configuration.
var registryPolicyDef = &kindDef[RegistryPolicy, *RegistryPolicy]{
	Kind:     KindRegistryPolicy,
	Table:    func(c *Composition) *Table[*RegistryPolicy] { return &c.RegistryPolicies },
	Document: func(d *Document) *[]*RegistryPolicy { return &d.RegistryPolicies },
	Validate: func(c *Composition, p *RegistryPolicy, v *ValidationError) error {
		name(v, "name", p.Name)
		name(v, "version", p.Version)
		if _, dup := c.RegistryPolicies.Find(func(o *RegistryPolicy) bool {
			return o.Name == p.Name && o.Version == p.Version && o.ID != p.ID
		}); dup {
			v.Add("version", taken)
		}
		if !isJSONObject(p.Schema) {
			v.Add("schema", "must be a JSON object")
		}
		return nil
	},
}
