package swagger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/portolan/portolan/internal/loopback"
	"github.com/portolan/portolan/internal/redact"
)

// ImportConfig says where to import a spec and how.
type ImportConfig struct {
	ImportOptions
	// Home is the admin portal: a coordinator, or any 3scale admin URL.
	Home string
	// Token is the access token, sent as HTTP Basic auth; it never appears in
	// errors.
	Token string
	// Client sends the requests; nil is http.DefaultClient. Bound the whole
	// import with ctx.
	Client *http.Client
	// DryRun computes the plan and writes nothing.
	DryRun bool
}

// Limits of the admin API's answers.
const (
	adminMaxAnswer = 64 << 20 // a list of ActiveDocs holds every spec
	adminMaxPages  = 1000
	adminPerPage   = 500 // 3scale's largest page
)

// Import makes the service of spec at cfg.Home match it: the service, one
// method and one mapping rule per operation, the authentication its security
// scheme asks for, and an ActiveDoc holding the spec. It reads the service as
// it stands through the 3scale Account Management API, plans the writes
// (see ImportPlan) and, unless cfg.DryRun, applies them in order. It returns
// the plan; on an error while applying, the actions before the failed one
// were applied.
func Import(ctx context.Context, spec *Spec, cfg ImportConfig) (*ImportPlan, error) {
	api, err := newAdminAPI(cfg)
	if err != nil {
		return nil, err
	}
	t, _, err := importTargetOf(spec, cfg.ImportOptions)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	st, err := api.state(ctx, t.service.SystemName)
	if err != nil {
		return nil, fmt.Errorf("import: read service %s: %w", t.service.SystemName, err)
	}
	plan, err := planImport(spec, st.importState, cfg.ImportOptions)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if cfg.DryRun {
		return plan, nil
	}
	for i, a := range plan.Actions {
		if err := api.apply(ctx, st, a); err != nil {
			return plan, fmt.Errorf("import: %s %s %s (action %d of %d; those before it were applied): %w",
				a.Verb, a.Kind, a.Name, i+1, len(plan.Actions), err)
		}
	}
	return plan, nil
}

// adminAPI calls the 3scale Account Management API in JSON.
type adminAPI struct {
	base   *url.URL
	token  string
	client *http.Client
}

func newAdminAPI(cfg ImportConfig) (*adminAPI, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.Home, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("import: the admin URL %q is not an http(s) URL", cfg.Home)
	}
	if cfg.Token == "" {
		return nil, errors.New("import: no access token")
	}
	if u.Scheme == "http" && !loopback.Host(u.Hostname()) {
		// Every call carries the token as Basic auth: in plain HTTP anyone
		// on the way reads it.
		return nil, fmt.Errorf("import: the admin URL %s is plain http to a host other than loopback: it would send the access token in clear: use https://", redact.URL(cfg.Home))
	}
	c := cfg.Client
	if c == nil {
		c = http.DefaultClient
	}
	return &adminAPI{base: u, token: cfg.Token, client: c}, nil
}

// liveState is the state of a service plus the ids applying needs.
type liveState struct {
	*importState
	hits     int64            // the service's hits metric
	methodID map[string]int64 // method ids by system_name, created ones too
}

// state reads the service with system_name sys and everything of it an
// import manages.
func (a *adminAPI) state(ctx context.Context, sys string) (*liveState, error) {
	st := &liveState{importState: &importState{}, methodID: make(map[string]int64)}
	services, err := adminList[remoteService](ctx, a, "/admin/api/services.json", "services", "service", true)
	if err != nil {
		return nil, err
	}
	for i := range services {
		if services[i].SystemName == sys {
			st.service = &services[i]
			break
		}
	}
	docs, err := adminList[remoteDoc](ctx, a, "/admin/api/active_docs.json", "api_docs", "api_doc", true)
	if err != nil {
		return nil, err
	}
	for i := range docs {
		if docs[i].SystemName == sys {
			st.doc = &docs[i]
			break
		}
	}
	if st.service == nil {
		return st, nil
	}
	svc := "/admin/api/services/" + strconv.FormatInt(st.service.ID, 10)
	var proxy struct {
		Proxy remoteProxy `json:"proxy"`
	}
	if err := a.call(ctx, http.MethodGet, svc+"/proxy.json", nil, &proxy); err != nil {
		return nil, err
	}
	st.proxy = proxy.Proxy
	if err := st.readHits(ctx, a); err != nil {
		return nil, err
	}
	if st.methods, err = adminList[remoteMetric](ctx, a, st.methodsPath(), "methods", "method", false); err != nil {
		return nil, err
	}
	for _, m := range st.methods {
		st.methodID[m.SystemName] = m.ID
	}
	st.rules, err = adminList[remoteRule](ctx, a, svc+"/proxy/mapping_rules.json", "mapping_rules", "mapping_rule", false)
	return st, err
}

// readHits finds the service's hits metric, the parent of every method.
func (st *liveState) readHits(ctx context.Context, a *adminAPI) error {
	metrics, err := adminList[remoteMetric](ctx, a, "/admin/api/services/"+strconv.FormatInt(st.service.ID, 10)+"/metrics.json", "metrics", "metric", false)
	if err != nil {
		return err
	}
	for _, m := range metrics {
		if m.SystemName == "hits" {
			st.hits = m.ID
			return nil
		}
	}
	return fmt.Errorf("service %s has no hits metric", st.service.SystemName)
}

func (st *liveState) servicePath() string {
	return "/admin/api/services/" + strconv.FormatInt(st.service.ID, 10)
}

func (st *liveState) methodsPath() string {
	return st.servicePath() + "/metrics/" + strconv.FormatInt(st.hits, 10) + "/methods.json"
}

// apply sends one action and records the ids it creates in st.
func (a *adminAPI) apply(ctx context.Context, st *liveState, act ImportAction) error {
	form := url.Values{}
	for k, v := range act.Fields {
		form[k] = v
	}
	if act.needMetric != "" {
		id, ok := st.methodID[act.needMetric]
		if !ok {
			return fmt.Errorf("method %s was not created", act.needMetric)
		}
		form.Set("metric_id", strconv.FormatInt(id, 10))
	}
	if act.needService {
		form.Set("service_id", strconv.FormatInt(st.service.ID, 10))
	}
	var path string
	switch act.Kind {
	case kindService:
		if act.Verb == verbCreate {
			var out struct {
				Service remoteService `json:"service"`
			}
			if err := a.call(ctx, http.MethodPost, "/admin/api/services.json", form, &out); err != nil {
				return err
			}
			if out.Service.ID == 0 {
				return errors.New("the answer has no service id")
			}
			st.service = &out.Service
			return st.readHits(ctx, a)
		}
		path = st.servicePath() + ".json"
	case kindProxy:
		path = st.servicePath() + "/proxy.json"
	case kindMethod:
		if act.Verb == verbCreate {
			var out struct {
				Method remoteMetric `json:"method"`
			}
			if err := a.call(ctx, http.MethodPost, st.methodsPath(), form, &out); err != nil {
				return err
			}
			if out.Method.ID == 0 {
				return errors.New("the answer has no method id")
			}
			st.methodID[act.Name] = out.Method.ID
			return nil
		}
		path = strings.TrimSuffix(st.methodsPath(), ".json") + "/" + strconv.FormatInt(act.ID, 10) + ".json"
	case kindRule:
		path = st.servicePath() + "/proxy/mapping_rules"
	case kindDoc:
		path = "/admin/api/active_docs"
	default:
		return fmt.Errorf("unknown kind %q", act.Kind)
	}
	switch act.Verb {
	case verbCreate:
		return a.call(ctx, http.MethodPost, path+".json", form, nil)
	case verbUpdate:
		if act.Kind == kindRule || act.Kind == kindDoc {
			path += "/" + strconv.FormatInt(act.ID, 10) + ".json"
		}
		return a.call(ctx, http.MethodPut, path, form, nil)
	case verbDelete:
		if act.Kind == kindRule {
			path += "/" + strconv.FormatInt(act.ID, 10) + ".json"
		}
		return a.call(ctx, http.MethodDelete, path, nil, nil)
	}
	return fmt.Errorf("unknown verb %q", act.Verb)
}

// listAll reads every item of a list answer {"<list>":[{"<item>":{...}}]},
// page by page when paged; a page that adds nothing new ends it (servers
// that do not page answer the same list again).
func adminList[T any](ctx context.Context, a *adminAPI, path, list, item string, paged bool) ([]T, error) {
	var all []T
	seen := make(map[string]bool)
	for page := 1; page <= adminMaxPages; page++ {
		p := path
		if paged {
			p += "?page=" + strconv.Itoa(page) + "&per_page=" + strconv.Itoa(adminPerPage)
		}
		var out map[string][]map[string]json.RawMessage
		if err := a.call(ctx, http.MethodGet, p, nil, &out); err != nil {
			return nil, err
		}
		fresh := 0
		for _, wrapped := range out[list] {
			raw, ok := wrapped[item]
			if !ok {
				return nil, fmt.Errorf("GET %s: an item of %q is not a %q", path, list, item)
			}
			if seen[string(raw)] {
				continue
			}
			seen[string(raw)] = true
			var v T
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("GET %s: %s: %w", path, item, err)
			}
			all = append(all, v)
			fresh++
		}
		if !paged || fresh < adminPerPage {
			return all, nil
		}
	}
	return nil, fmt.Errorf("GET %s: more than %d pages", path, adminMaxPages)
}

// call sends one request, a form when form is set, and decodes a JSON answer
// into out when out is set. Errors name the method and path, never the
// token.
func (a *adminAPI) call(ctx context.Context, method, path string, form url.Values, out any) error {
	u := *a.base
	p, q, _ := strings.Cut(path, "?")
	u.Path = strings.TrimSuffix(u.Path, "/") + p
	u.RawPath = ""
	u.RawQuery = q
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, p, err)
	}
	req.SetBasicAuth("", a.token)
	req.Header.Set("Accept", "application/json")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, p, a.scrub(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, adminMaxAnswer+1))
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, p, err)
	}
	if len(b) > adminMaxAnswer {
		return fmt.Errorf("%s %s: the answer is larger than %d bytes", method, p, adminMaxAnswer)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.TrimSpace(string(b))
		if len(msg) > 512 {
			msg = msg[:512] + "..."
		}
		return fmt.Errorf("%s %s: %s: %s", method, p, resp.Status, a.scrub(errors.New(msg)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, p, err)
	}
	return nil
}

// scrub hides the token in an error's text, should a server or a transport
// ever echo it.
func (a *adminAPI) scrub(err error) error {
	if a.token == "" || !strings.Contains(err.Error(), a.token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), a.token, "[token]"))
}
