package manifest

import (
	"fmt"
	"maps"
	"slices"

	"github.com/portolan/portolan/composition"
)

func (b *builder) account(d *Account) error {
	a := &composition.Account{
		OrgName: d.OrgName, MonthlyBillingEnabled: d.MonthlyBillingEnabled, MonthlyChargingEnabled: d.MonthlyChargingEnabled,
		VatRate: d.VatRate, OrgLegalAddress: d.OrgLegalAddress, OrgLegalAddressCont: d.OrgLegalAddressCont,
		City: d.City, StateRegion: d.StateRegion, Country: d.Country, Zip: d.Zip, TelephoneNumber: d.TelephoneNumber,
		VatCode: d.VatCode, FiscalCode: d.FiscalCode, BusinessCategory: d.BusinessCategory, PrimaryBusiness: d.PrimaryBusiness,
		PoNumber: d.PoNumber,
	}
	if len(d.BillingAddress) > 0 {
		a.BillingAddress = maps.Clone(d.BillingAddress)
	}
	// A plan refused is reported, and the account still checked without it.
	b.report(b.accountPlan(a, d.Plan))
	if err := b.create("", a); err != nil {
		return err
	}
	for i, u := range d.Users {
		e := &composition.User{AccountID: a.ID, Username: u.Username, Email: u.Email, Password: b.keepPassword(d.OrgName, u), Role: u.Role}
		b.report(b.create("users["+label(u.Username, i)+"]", e))
	}
	seen := map[[2]string]int{} // applications so far by service and name
	for i, app := range d.Applications {
		key := [2]string{app.Service, app.Name}
		home, _ := b.homeApplication(d.OrgName, app.Service, app.Name, seen[key])
		seen[key]++
		b.report(b.application(fmt.Sprintf("applications[%d]", i), a.ID, app, home))
	}
	return nil
}

// declareAccountPlan writes an account plan a document declares.
func (b *builder) declareAccountPlan(d *AccountPlan) error {
	p := &composition.AccountPlan{
		Name: d.Name, SystemName: d.SystemName, State: d.State, Default: d.Default, ApprovalRequired: d.ApprovalRequired,
		SetupFee: composition.Decimal(d.SetupFee), CostPerMonth: composition.Decimal(d.CostPerMonth), TrialPeriodDays: d.TrialPeriodDays, CancellationPeriod: d.CancellationPeriod,
	}
	if err := b.create("", p); err != nil {
		if _, ok := b.accountPlans[d.SystemName]; !ok {
			b.refuse(refusedAccountPlan(d.SystemName))
		}
		return err
	}
	b.accountPlans[d.SystemName] = p.ID
	return nil
}

// accountPlan puts a on the account plan named: one the documents declare,
// else base's, carried over unchanged. Without a name, a goes on the
// default account plan, if any, as 3scale's signup puts it: a declared
// default (which the create finds), else base's.
func (b *builder) accountPlan(a *composition.Account, name string) error {
	if id, ok := b.accountPlans[name]; ok {
		a.PlanID = id
		return nil
	}
	if name != "" && b.failed[refusedAccountPlan(name)] {
		return errCascade
	}
	if _, ok := b.view().DefaultAccountPlan(); ok && name == "" {
		return nil
	}
	var plan *composition.AccountPlan
	ok := false
	if b.base != nil {
		if name == "" {
			plan, ok = b.base.DefaultAccountPlan()
		} else {
			plan, ok = b.base.AccountPlans.Find(func(p *composition.AccountPlan) bool { return p.SystemName == name })
		}
	}
	switch {
	case ok:
		if _, have := b.view().AccountPlans.Get(plan.ID); !have {
			n := *plan
			if _, declared := b.view().DefaultAccountPlan(); declared {
				n.Default = false // the declared default is the one
			}
			b.tx.Put(&n)
		}
		a.PlanID = plan.ID
	case name != "" && b.base == nil:
		return b.errorf("plan", "%q is not an account plan of the documents, and there is no home to look it up in", name)
	case name != "":
		return b.errorf("plan", "%q is not an account plan of the documents nor at home", name)
	}
	return nil
}

// application writes an application of the account; home is base's
// application of the same names, nil if none, whose credentials it keeps
// where the document gives none.
func (b *builder) application(path string, accountID int64, d Application, home *composition.Application) error {
	serviceID, err := b.serviceID(path+".service", d.Service)
	if err != nil {
		return err
	}
	planID, err := b.planID(path+".plan", serviceID, d.Service, d.Plan)
	if err != nil {
		return err
	}
	app := &composition.Application{
		AccountID: accountID, PlanID: planID, Name: d.Name, Description: d.Description,
		UserKey: d.UserKey, AppID: d.ApplicationID, AppKeys: slices.Clone(d.Keys), RedirectURL: d.RedirectURL,
	}
	if home != nil {
		app.UserKey = orDefault(app.UserKey, home.UserKey)
		app.AppID = orDefault(app.AppID, home.AppID)
		if len(app.AppKeys) == 0 {
			app.AppKeys = slices.Clone(home.AppKeys)
		}
		app.ProviderVerificationKey = home.ProviderVerificationKey
	}
	// A filter refused is reported and left out: the application's other
	// fields are still checked.
	for i, f := range d.ReferrerFilters {
		if i >= composition.MaxReferrerFilters {
			b.report(b.errorf(path+".referrer_filters", "%d filters: an application has %d at most", len(d.ReferrerFilters), composition.MaxReferrerFilters))
			break
		}
		at := fmt.Sprintf("%s.referrer_filters[%d]", path, i)
		if why := composition.CheckReferrerFilter(f); why != "" {
			b.report(b.errorf(at, "%q %s: a domain or IP (letters, digits, '.', '-' and '*', 255 at most)", f, why))
			continue
		}
		if slices.Contains(d.ReferrerFilters[:i], f) {
			b.report(b.errorf(at, "%q is given twice", f))
			continue
		}
		now := b.tx.Now()
		app.ReferrerFilters = append(app.ReferrerFilters,
			composition.ReferrerFilter{ID: b.tx.NextID(), Value: f, CreatedAt: now, UpdatedAt: now})
	}
	return b.create(path, app)
}
