package composition

// A service (a 3scale product) gets its hits metric and its proxy when it is
// created; deleting it takes all that belongs to it (cascadeService).
var serviceDef = &kindDef[Service, *Service]{
	Kind:     KindService,
	Table:    func(c *Composition) *Table[*Service] { return &c.Services },
	Document: func(d *Document) *[]*Service { return &d.Services },
	Keep: func(s, old *Service) {
		s.SystemName, s.AccountID, s.Managed = old.SystemName, old.AccountID, old.Managed
	},
	Prepare:  prepareService,
	Validate: validateService,
	AfterCreate: func(tx *Tx, s *Service) error {
		if err := tx.createHits(OwnerService, s.ID); err != nil {
			return err
		}
		return tx.Create(DefaultProxy(s.ID))
	},
	Cascade: cascadeService,
	NaturalKey: func(_ *keyIndex, s *Service) (string, string, error) {
		return childKey("", "service", s.SystemName), "", nil
	},
	Derived: []string{"account_id", "state", "managed"},
}

func prepareService(_ *Composition, s, old *Service) error {
	if old != nil {
		return nil
	}
	s.AccountID = ProviderAccountID
	s.State = defaultStr(s.State, "incomplete")
	s.DeploymentOption = defaultStr(s.DeploymentOption, "hosted")
	s.BackendVersion = defaultStr(s.BackendVersion, "1")
	s.BuyerPlanChangePermission = defaultStr(s.BuyerPlanChangePermission, "request")
	s.SystemName = defaultStr(s.SystemName, SystemName(s.Name))
	return nil
}

func validateService(c *Composition, s *Service, v *ValidationError) error {
	name(v, "name", s.Name)
	systemName(v, s.SystemName)
	if _, dup := c.Services.Find(func(o *Service) bool { return o.SystemName == s.SystemName && o.ID != s.ID }); dup {
		v.Add("system_name", taken)
	}
	oneOf(v, "deployment_option", s.DeploymentOption, "hosted", "self_managed")
	oneOf(v, "backend_version", s.BackendVersion, "1", "2", "oidc")
	oneOf(v, "buyer_plan_change_permission", s.BuyerPlanChangePermission, "request", "direct", "credit_card", "request_credit_card", "none")
	text(v, "description", s.Description)
	alertLimits(v, "alert_limits", s.AlertLimits)
	s.Managed.validate(v)
	return nil
}

// cascadeService removes a service's metrics, backend usages, plans with their
// applications, service plans with their subscriptions, proxy configs, placements and proxy, and unbinds its ActiveDocs.
func cascadeService(tx *Tx, s *Service) {
	c := tx.c
	for _, m := range c.MetricsOf(OwnerService, s.ID) {
		tx.purge(m)
	}
	for _, u := range c.BackendUsages.Filter(func(u *BackendUsage) bool { return u.ServiceID == s.ID }) {
		tx.drop(u)
	}
	for _, p := range c.PlansOf(s.ID) {
		for _, a := range c.Applications.Filter(func(a *Application) bool { return a.PlanID == p.ID }) {
			tx.drop(a)
		}
		tx.purge(p)
	}
	for _, pc := range c.ProxyConfigs.Filter(func(pc *ProxyConfig) bool { return pc.ServiceID == s.ID }) {
		tx.drop(pc)
	}
	for _, d := range c.ActiveDocs.Filter(func(d *ActiveDoc) bool { return d.ServiceID == s.ID }) {
		n := *d
		n.ServiceID, n.UpdatedAt = 0, tx.now
		tx.put(&n)
	}
	for _, p := range c.Placements.Filter(func(p *Placement) bool { return p.ServiceID == s.ID }) {
		tx.drop(p)
	}
	tx.dropServicePlansOf(s.ID)
	tx.dropFeaturesOf(OwnerService, s.ID)
	tx.forgetServicePermission(s.ID)
	tx.remove(proxyDef, s.ID)
}
