package threescale

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

type appCollection = collection[composition.Application, *composition.Application]

func appTable(c *composition.Composition) *composition.Table[*composition.Application] {
	return &c.Applications
}

// accountApps is the applications of the account at {account_id}; the
// keys and referrer filters reach theirs through it.
func accountApps() *appCollection {
	return &appCollection{
		kind:  composition.KindApplication,
		names: fixedNames("application", "applications"),
		table: appTable,
		scope: reachable(func(c *call, s *composition.Composition) (func(*composition.Application) bool, func(*composition.Application), error) {
			id, err := c.id("account_id")
			if err != nil {
				return nil, nil, err
			}
			if _, err := get(&s.Accounts, id); err != nil {
				return nil, nil, err
			}
			return func(app *composition.Application) bool { return app.AccountID == id },
				func(app *composition.Application) { app.AccountID = id }, nil
		}, appService),
		prepare: prepareApp,
		view:    appView,
		unpaged: true,
	}
}

func (a *API) applicationRoutes() []Route {
	formats := []Format{JSON, XML}
	apps := accountApps()
	all := &appCollection{
		kind:  composition.KindApplication,
		names: fixedNames("application", "applications"),
		table: appTable,
		scope: reachable(appFilter, appService),
		view:  appView,
	}
	const tag = "Account Applications"
	base := "/admin/api/accounts/{account_id}/applications"
	rs := apps.routes(tag, "Application", base, "id", formats...)
	// Only the list filters by state: porta's index is
	// "applications.by_state(params[:state])", its member actions find the
	// application by id whatever the parameters.
	listed := *apps
	listed.scope = stateScoped(apps.scope)
	for i := range rs {
		if rs[i].Method == http.MethodGet && rs[i].Path == base {
			rs[i].handle = listed.list
		}
	}
	return append(rs,
		Route{Method: http.MethodPut, Path: base + "/{id}/suspend", Tag: tag, Summary: "Application Suspend", Formats: formats,
			handle: apps.change("id", appState("suspend", composition.AppLive, composition.AppSuspended))},
		Route{Method: http.MethodPut, Path: base + "/{id}/resume", Tag: tag, Summary: "Application Resume", Formats: formats,
			handle: apps.change("id", appState("resume", composition.AppSuspended, composition.AppLive))},
		Route{Method: http.MethodPut, Path: base + "/{id}/change_plan", Tag: tag, Summary: "Application Change Plan", Formats: formats,
			handle: apps.change("id", changePlan)},
		Route{Method: http.MethodPut, Path: base + "/{id}/accept", Tag: tag, Summary: "Application Accept", Formats: formats,
			handle: apps.change("id", acceptApp)},
		Route{Method: http.MethodGet, Path: "/admin/api/applications", Tag: "Service Applications",
			Summary: "Application List (all services)", Formats: formats, handle: all.list},
		Route{Method: http.MethodGet, Path: "/admin/api/applications/find", Tag: "Service Applications",
			Summary: "Application Find", Formats: formats, handle: findApp},
	)
}

// prepareApp takes the plan from plan_id on create (it changes only through
// change_plan) and app keys from application_key; app_id never changes. An
// application created without a name gets the one 3scale shows for it:
// 3scale's API asks for none. redirect_url is stored stripped, as porta's
// Cinstance#redirect_url= stores it, so that apisonator's exact comparison
// of an OAuth call's redirect_url (servicemanagement_oauth.go) sees what
// porta would have stored.
func prepareApp(c *call, tx *composition.Tx, n, old *composition.Application) error {
	n.RedirectURL = strings.Trim(n.RedirectURL, rubyWhitespace)
	v := &composition.ValidationError{}
	if n.UserKey != "" && (old == nil || n.UserKey != old.UserKey) {
		checkUserKey(v, n.UserKey)
	}
	if old != nil {
		n.AppID = old.AppID
		return v.Err()
	}
	if n.AppID != "" {
		checkAppID(v, n.AppID)
	}
	plan, err := planParam(c, tx.View())
	if err != nil {
		return err
	}
	n.PlanID = plan.ID
	if n.Name == "" {
		n.Name = defaultAppName(plan)
	}
	// application_key is one key (a repeated name: its last, as Rack reads
	// it); application_key[] may list several.
	keys := c.params.All("application_key[]")
	if k, ok := c.params.Get("application_key"); ok {
		keys = append([]string{k}, keys...)
	}
	// porta builds each as an ApplicationKey: one it would refuse makes
	// the application invalid, as Rails says of a has_many's record.
	for _, k := range keys {
		if k == "" {
			continue
		}
		if len(appKeyProblems(k)) > 0 && v.Fields["application_keys"] == nil {
			v.Add("application_keys", "is invalid")
		}
		n.AppKeys = append(n.AppKeys, k)
	}
	return v.Err()
}

// validUserKey is porta's Cinstance::USER_KEY_FORMAT: word characters,
// dashes and dots, or base64 without slashes (apisonator's keys cannot
// hold one): groups of four of letters, digits and "+", the last ending
// in "=" or "==". Checked by hand: the regular expression, compiled at
// init, cost the package's init over its allocation budget (tools/size).
func validUserKey(k string) bool {
	if k == "" {
		return false
	}
	word := true
	for i := 0; i < len(k) && word; i++ {
		c := k[i]
		word = isAlnum(c) || c == '_' || c == '-' || c == '.'
	}
	if word {
		return true
	}
	if len(k)%4 != 0 {
		return false
	}
	body := strings.TrimSuffix(strings.TrimSuffix(k, "="), "=")
	for i := 0; i < len(body); i++ {
		if c := body[i]; !isAlnum(c) && c != '+' {
			return false
		}
	}
	return true
}

// validAppID is porta's application_id format: printable ASCII but space
// and slash.
func validAppID(id string) bool {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e || c == '/' {
			return false
		}
	}
	return id != ""
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// checkUserKey adds porta's complaints about a user_key given to
// Application Create or Update, in its order: format, then length.
func checkUserKey(v *composition.ValidationError, key string) {
	if !validUserKey(key) {
		v.Add("user_key", "is invalid")
	}
	if len(key) > 256 {
		v.Add("user_key", "is too long (maximum is 256 characters)")
	}
}

// checkAppID adds porta's complaints about an application_id given to
// Application Create: format, then length (4 to 255).
func checkAppID(v *composition.ValidationError, id string) {
	if !validAppID(id) {
		v.Add("application_id", "is invalid")
	}
	switch {
	case len(id) < 4:
		v.Add("application_id", "is too short (minimum is 4 characters)")
	case len(id) > 255:
		v.Add("application_id", "is too long (maximum is 255 characters)")
	}
}

// rubyWhitespace is what Ruby's String#strip removes.
const rubyWhitespace = "\x00\t\n\v\f\r "

// defaultAppName is porta's name for an application without one
// (Cinstance#default_name).
func defaultAppName(plan *composition.ApplicationPlan) string {
	return "Application on plan " + plan.Name
}

// planParam resolves the plan_id parameter; an unknown plan, or one of a
// service out of a member's reach, is 404.
func planParam(c *call, s *composition.Composition) (*composition.ApplicationPlan, error) {
	v, ok := c.params.Get("plan_id")
	if !ok || v == "" {
		return nil, composition.Invalid("plan_id", "can't be blank")
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, &composition.FieldError{Field: "plan_id", Message: "is not a number", Err: err}
	}
	p, err := get(&s.ApplicationPlans, id)
	if err == nil && !c.reaches(p.ServiceID) {
		return nil, ErrNotFound
	}
	return p, err
}

// changePlan moves n to the plan_id parameter's plan, of the same service.
func changePlan(c *call, tx *composition.Tx, n, _ *composition.Application) error {
	plan, err := planParam(c, tx.View())
	if err != nil {
		return err
	}
	if plan.ServiceID != n.ServiceID {
		return composition.Invalid("plan_id", "must be a plan of the application's service")
	}
	n.PlanID = plan.ID
	return nil
}

// appState returns porta's Contract state machine event moving an
// application from state from to state to (suspend: live => suspended;
// resume: suspended => live). BuyersApplicationsController fires it without
// a bang, so from any other state (a pending application, or one already
// there) it is state_machine's invalid_transition error, 422.
func appState(event, from, to string) edit[*composition.Application] {
	return func(_ *call, _ *composition.Tx, n, _ *composition.Application) error {
		if n.State != from {
			return invalidTransition(event)
		}
		n.State = to
		return nil
	}
}

// acceptApp moves a pending application to live: 3scale's accept event,
// which no other state allows.
func acceptApp(_ *call, _ *composition.Tx, n, _ *composition.Application) error {
	if n.State != composition.AppPending {
		return invalidTransition("accept")
	}
	n.State = composition.AppLive
	return nil
}

// invalidTransition is 3scale's answer to a state event the entity's state
// does not allow: state_machine's invalid_transition message on state.
func invalidTransition(event string) error {
	return composition.Invalid("state", `cannot transition via "`+event+`"`)
}

// appService is an application's service.
func appService(app *composition.Application) int64 { return app.ServiceID }

// appStateParam is the state both application lists filter by: porta's
// Contract.by_state (the account's list) and its "state" search scope (all
// services), which a blank value (white space too) leaves out.
func appStateParam(c *call) string {
	v, _ := searchParam(c, "state")
	return v
}

// stateScoped narrows scope to the applications in the state the request
// asks for.
func stateScoped(scope entityScope[*composition.Application]) entityScope[*composition.Application] {
	return func(c *call, s *composition.Composition) (func(*composition.Application) bool, func(*composition.Application), error) {
		belongs, attach, err := scope(c, s)
		if err != nil {
			return nil, nil, err
		}
		state := appStateParam(c)
		return func(app *composition.Application) bool { return belongs(app) && inAppState(app, state) }, attach, nil
	}
}

// inAppState says whether app is in state; no state is every state. An
// unknown state matches none, as porta's "where(state: ...)".
func inAppState(app *composition.Application, state string) bool {
	return state == "" || app.State == state
}

// findApp finds an application by its id (application_id), user_key or
// app_id, optionally within service_id (an id or a system name).
func findApp(c *call) error {
	s := c.snapshot()
	var match func(*composition.Application) bool
	if v, _ := c.params.Get("application_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return ErrNotFound
		}
		match = func(app *composition.Application) bool { return app.ID == id }
	} else if v, _ := c.params.Get("user_key"); v != "" {
		match = func(app *composition.Application) bool { return app.UserKey == v }
	} else if v, _ := c.params.Get("app_id"); v != "" {
		match = func(app *composition.Application) bool { return app.AppID == v }
	} else {
		return ErrNotFound
	}
	service := int64(0)
	if v, _ := c.params.Get("service_id"); v != "" {
		svc, ok := s.ServiceBySystemName(v)
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			svc, ok = s.Services.Get(id)
		}
		if !ok {
			return ErrNotFound
		}
		service = svc.ID
	}
	apps := s.Applications.Filter(func(app *composition.Application) bool {
		return match(app) && (service == 0 || app.ServiceID == service) && c.reaches(app.ServiceID)
	})
	if len(apps) == 0 {
		return ErrNotFound
	}
	return c.one(appView(c, apps[0]))
}

// appWire is an application as 3scale renders it (porta's
// CinstanceRepresenter in JSON, Cinstance#to_xml in XML): the credentials of
// the service's authentication only, a user_key and provider verification
// key for backend_version 1, else the application_id, with the keys in XML
// and, for OpenID Connect (porta's backend_version "oauth"), the
// redirect_url (null in JSON when unset, as porta renders it) and, in JSON,
// client_id and client_secret. Nil pointers are left out; the traffic
// timestamps, never recorded, are null in JSON.
// user_account_id (a string in JSON) and end_user_required are what the
// official Go client reads.
type appWire struct {
	ID                      int64      `json:"id"`
	State                   string     `json:"state"`
	Enabled                 *bool      `json:"enabled,omitempty"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
	ServiceID               int64      `json:"service_id"`
	PlanID                  int64      `json:"plan_id"`
	AccountID               *int64     `json:"account_id,omitempty"`
	UserAccountID           int64      `json:"user_account_id" wire:"string"`
	FirstTrafficAt          *time.Time `json:"first_traffic_at"`
	FirstDailyTrafficAt     *time.Time `json:"first_daily_traffic_at"`
	UserKey                 *string    `json:"user_key,omitempty"`
	ProviderVerificationKey *string    `json:"provider_verification_key,omitempty"`
	ApplicationID           *string    `json:"application_id,omitempty"`
	RedirectURL             **string   `json:"redirect_url,omitempty"` // nil: not shown; *nil: null
	ClientID                *string    `json:"client_id,omitempty"`
	ClientSecret            *string    `json:"client_secret,omitempty"`
	Keys                    *[]string  `json:"keys,omitempty" wire:"item=key"`
	Name                    string     `json:"name"`
	Description             string     `json:"description"`
	EndUserRequired         bool       `json:"end_user_required"`
}

// newAppWire renders app of a service with backendVersion in format f.
func newAppWire(app *composition.Application, backendVersion string, f Format) appWire {
	w := appWire{
		ID: app.ID, State: app.State, CreatedAt: app.CreatedAt, UpdatedAt: app.UpdatedAt,
		ServiceID: app.ServiceID, PlanID: app.PlanID, UserAccountID: app.AccountID,
		Name: app.Name, Description: app.Description, EndUserRequired: app.EndUserRequired,
	}
	if f != XML {
		// Enabled: live, and the account not scheduled for deletion, which
		// Portolan's accounts never are.
		enabled, account := app.State == composition.AppLive, app.AccountID
		w.Enabled, w.AccountID = &enabled, &account
	}
	if backendVersion == "1" {
		userKey, pvk := app.UserKey, app.ProviderVerificationKey
		w.UserKey, w.ProviderVerificationKey = &userKey, &pvk
		return w
	}
	appID := app.AppID
	w.ApplicationID = &appID
	keys := append([]string{}, app.AppKeys...)
	if backendVersion == "oidc" {
		var redirect *string // null in JSON when unset; XML leaves out nil, so it has an empty element
		if u := app.RedirectURL; u != "" || f == XML {
			redirect = &u
		}
		w.RedirectURL = &redirect
	}
	switch {
	case f == XML:
		w.Keys = &keys
	case backendVersion == "oidc":
		secret := ""
		if len(keys) > 0 {
			secret = keys[0]
		}
		w.ClientID, w.ClientSecret = &appID, &secret
	}
	return w
}

// appView renders an application for its service's authentication.
func appView(c *call, app *composition.Application) (string, any) {
	version := "1"
	if svc, ok := c.snapshot().Services.Get(app.ServiceID); ok {
		version = svc.BackendVersion
	}
	return "application", newAppWire(app, version, c.format)
}
