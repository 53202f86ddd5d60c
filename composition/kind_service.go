package composition

import "time"

// KindService is the kind of services.
const KindService Kind = "services"

// Service is a 3scale product.
type Service struct {
	ID                          int64     `json:"id" wire:"ro"`
	AccountID                   int64     `json:"account_id" wire:"ro"`
	Name                        string    `json:"name"`
	SystemName                  string    `json:"system_name"`
	Description                 string    `json:"description"`
	State                       string    `json:"state" wire:"ro"`
	DeploymentOption            string    `json:"deployment_option"`
	BackendVersion              string    `json:"backend_version"`
	SupportEmail                string    `json:"support_email"`
	IntentionsRequired          bool      `json:"intentions_required"`
	BuyersManageApps            bool      `json:"buyers_manage_apps"`
	BuyersManageKeys            bool      `json:"buyers_manage_keys"`
	ReferrerFiltersRequired     bool      `json:"referrer_filters_required"`
	CustomKeysEnabled           bool      `json:"custom_keys_enabled"`
	BuyerKeyRegenerateEnabled   bool      `json:"buyer_key_regenerate_enabled"`
	MandatoryAppKey             bool      `json:"mandatory_app_key"`
	BuyerCanSelectPlan          bool      `json:"buyer_can_select_plan"`
	BuyerPlanChangePermission   string    `json:"buyer_plan_change_permission"`
	EndUserRegistrationRequired bool      `json:"end_user_registration_required"`
	CreatedAt                   time.Time `json:"created_at" wire:"ro"`
	UpdatedAt                   time.Time `json:"updated_at" wire:"ro"`
}

func (e *Service) Key() int64                     { return e.ID }
func (e *Service) stamp(id int64, c, u time.Time) { e.ID, e.CreatedAt, e.UpdatedAt = id, c, u }
func (e *Service) created() time.Time             { return e.CreatedAt }
func (*Service) info() kindInfo                   { return serviceDef }

var serviceDef = &kindDef[Service, *Service]{
	Kind:     KindService,
	Table:    func(c *Composition) *Table[*Service] { return &c.Services },
	Document: func(d *Document) *[]*Service { return &d.Services },
	Prepare:  prepareService,
	Validate: validateService,
	AfterCreate: func(tx *Tx, s *Service) error {
		if err := tx.createHits(OwnerService, s.ID); err != nil {
			return err
		}
		return tx.Create(DefaultProxy(s.ID))
	},
	Cascade: cascadeService,
}

func prepareService(_ *Composition, s, old *Service) error {
	if old != nil {
		s.SystemName, s.AccountID = old.SystemName, old.AccountID
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

func validateService(c *Composition, s *Service) error {
	v := &ValidationError{}
	name(v, "name", s.Name)
	systemName(v, s.SystemName)
	if _, dup := c.Services.Find(func(o *Service) bool { return o.SystemName == s.SystemName && o.ID != s.ID }); dup {
		v.Add("system_name", taken)
	}
	oneOf(v, "deployment_option", s.DeploymentOption, "hosted", "self_managed")
	oneOf(v, "backend_version", s.BackendVersion, "1", "2", "oidc")
	oneOf(v, "buyer_plan_change_permission", s.BuyerPlanChangePermission, "request", "direct", "credit_card", "request_credit_card", "none")
	text(v, "description", s.Description)
	return v.Err()
}

// cascadeService removes a service's metrics, backend usages, plans with their
// applications, proxy configs, placements and proxy, and unbinds its ActiveDocs.
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
	tx.remove(proxyDef, s.ID)
}
