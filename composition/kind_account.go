package composition

// A developer account; its users and applications go with it.
var accountDef = &kindDef[Account, *Account]{
	Kind:     KindAccount,
	Table:    func(c *Composition) *Table[*Account] { return &c.Accounts },
	Document: func(d *Document) *[]*Account { return &d.Accounts },
	Prepare: func(c *Composition, a, old *Account) error {
		if old == nil {
			a.State = defaultStr(a.State, AccountApproved)
		}
		prepareAccountPlan(c, a, old)
		return nil
	},
	Validate: func(c *Composition, a *Account, v *ValidationError) error {
		name(v, "org_name", a.OrgName)
		oneOf(v, "state", a.State, AccountApproved, AccountPending, "rejected", "suspended")
		return validateAccountPlan(c, a)
	},
	Import: func(a *Account, ref refFunc) { a.PlanID = ref("plan_id", a.PlanID) },
	// An account's users, applications and service subscriptions go with it.
	Cascade: func(tx *Tx, a *Account) {
		tx.dropServiceContractsOf(a.ID)
		for _, u := range tx.c.Users.Filter(func(u *User) bool { return u.AccountID == a.ID }) {
			tx.drop(u)
		}
		// Purged: an application takes its custom plan with it.
		for _, app := range tx.c.Applications.Filter(func(app *Application) bool { return app.AccountID == a.ID }) {
			tx.purge(app)
		}
		for _, m := range tx.c.Messages.Filter(func(m *Message) bool { return m.AccountID == a.ID }) {
			tx.drop(m)
		}
	},
	NaturalKey: func(_ *keyIndex, a *Account) (string, string, error) {
		return childKey("", "account", keyName(a.OrgName)), "", nil
	},
	Derived: []string{"state", "credit_card_stored", "credit_card_partial_number", "credit_card_expires_on"},
}
