package threescale

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/3scale/3scale-porta-go-client/client"
	"github.com/portolan/portolan/composition"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The official client's structs decode what the encoder writes.

type cProduct struct {
	ID                 int64     `json:"id" wire:"ro"`
	Name               string    `json:"name"`
	SystemName         string    `json:"system_name"`
	Description        string    `json:"description"`
	DeploymentOption   string    `json:"deployment_option"`
	State              string    `json:"state" wire:"ro"`
	BackendVersion     string    `json:"backend_version"`
	IntentionsRequired bool      `json:"intentions_required"`
	BuyersManageApps   bool      `json:"buyers_manage_apps"`
	Metrics            []cMetric `json:"metrics" wire:"omitempty"`
	CreatedAt          time.Time `json:"created_at" wire:"ro"`
	UpdatedAt          time.Time `json:"updated_at" wire:"ro"`
}

type cMetric struct {
	ID           int64  `json:"id" wire:"ro"`
	Name         string `json:"name"`
	SystemName   string `json:"system_name"`
	FriendlyName string `json:"friendly_name"`
	ServiceID    int64  `json:"service_id" wire:"ro"`
	Description  string `json:"description"`
	Unit         string `json:"unit"`
}

type cPlan struct {
	ID                 int64     `json:"id" wire:"ro"`
	Custom             bool      `json:"custom" wire:"ro,attr"`
	Default            bool      `json:"default" wire:"ro,attr"`
	Name               string    `json:"name"`
	SystemName         string    `json:"system_name"`
	Type               string    `json:"type" wire:"ro"`
	State              string    `json:"state" wire:"ro"`
	ServiceID          int64     `json:"service_id" wire:"ro"`
	ApprovalRequired   bool      `json:"approval_required"`
	SetupFee           float64   `json:"setup_fee"`
	CostPerMonth       float64   `json:"cost_per_month"`
	TrialPeriodDays    int       `json:"trial_period_days"`
	CancellationPeriod int       `json:"cancellation_period"`
	CreatedAt          time.Time `json:"created_at" wire:"ro"`
}

type cLimit struct {
	ID       int64  `json:"id"`
	MetricID int64  `json:"metric_id"`
	PlanID   int64  `json:"plan_id"`
	Period   string `json:"period"`
	Value    int64  `json:"value"`
}

type cPricingRule struct {
	ID          int64   `json:"id"`
	MetricID    int64   `json:"metric_id"`
	CostPerUnit float64 `json:"cost_per_unit" wire:"string"`
	Min         int64   `json:"min"`
	Max         int64   `json:"max"`
}

var created = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

func TestClientDecodesJSON(t *testing.T) {
	e := Encoder{Format: JSON}
	p := cProduct{ID: 5, Name: "News", SystemName: "news", State: "incomplete", BackendVersion: "1",
		DeploymentOption: "hosted", BuyersManageApps: true, CreatedAt: created, UpdatedAt: created}

	var product client.Product
	require.NoError(t, json.Unmarshal([]byte(encodeOne(t, e, "service", p)), &product))
	assert.Equal(t, client.ProductItem{ID: 5, Name: "News", SystemName: "news", State: "incomplete", BackendVersion: "1",
		DeploymentOption: "hosted", BuyersManageApps: true, CreatedAt: "2026-01-02T15:04:05Z", UpdatedAt: "2026-01-02T15:04:05Z"}, product.Element)

	var products client.ProductList
	require.NoError(t, json.Unmarshal([]byte(encodeList(t, e, "services", "service", []cProduct{p, {ID: 6}})), &products))
	require.Len(t, products.Products, 2)
	assert.Equal(t, int64(6), products.Products[1].Element.ID)

	plans := []cPlan{{ID: 7, Name: "Basic", SystemName: "basic", State: "published", SetupFee: 1.5, CostPerMonth: 10,
		TrialPeriodDays: 30, Default: true, CreatedAt: created}}
	var planList client.ApplicationPlanJSONList
	require.NoError(t, json.Unmarshal([]byte(encodeList(t, e, "plans", "application_plan", plans)), &planList))
	require.Len(t, planList.Plans, 1)
	assert.Equal(t, client.ApplicationPlanItem{ID: 7, Name: "Basic", SystemName: "basic", State: "published", SetupFee: 1.5,
		CostPerMonth: 10, TrialPeriodDays: 30, Default: true, CreatedAt: "2026-01-02T15:04:05Z"}, planList.Plans[0].Element)

	var usages client.BackendAPIUsageList
	require.NoError(t, json.Unmarshal([]byte(encodeList(t, e, "", "backend_usage", []encUsage{{ID: 1, Path: "/v1", ServiceID: 5, BackendID: 9}})), &usages))
	require.Len(t, usages, 1)
	assert.Equal(t, client.BackendAPIUsageItem{ID: 1, Path: "/v1", ProductID: 5, BackendAPIID: 9}, usages[0].Element)

	var rules client.ApplicationPlanPricingRuleList
	require.NoError(t, json.Unmarshal([]byte(encodeList(t, e, "pricing_rules", "pricing_rule", []cPricingRule{{ID: 1, MetricID: 2, CostPerUnit: 0.1, Min: 1, Max: 10}})), &rules))
	require.Len(t, rules.Rules, 1)
	assert.Equal(t, "0.1", rules.Rules[0].Element.CostPerUnit, "the client reads cost_per_unit as a string")

	var limits client.ApplicationPlanLimitList
	require.NoError(t, json.Unmarshal([]byte(encodeList(t, e, "limits", "limit", []cLimit{{ID: 3, MetricID: 2, PlanID: 7, Period: "day", Value: 100}})), &limits))
	assert.Equal(t, client.ApplicationPlanLimitItem{ID: 3, MetricID: 2, PlanID: 7, Period: "day", Value: 100}, limits.Limits[0].Element)

	var policies client.PoliciesConfigList
	require.NoError(t, json.Unmarshal([]byte(encodeList(t, e, "policies_config", "", []encPolicy{{Name: "apicast", Configuration: json.RawMessage(`{"k":"v"}`), Enabled: true}})), &policies))
	require.Len(t, policies.Policies, 1)
	assert.Equal(t, client.PolicyConfig{Name: "apicast", Configuration: map[string]any{"k": "v"}, Enabled: true}, policies.Policies[0])
}

func TestClientDecodesXML(t *testing.T) {
	e := Encoder{Format: XML}
	services := []cProduct{{ID: 5, Name: "News & Co", SystemName: "news", State: "incomplete", BackendVersion: "1",
		Metrics: []cMetric{{ID: 10, Name: "hits", SystemName: "hits", FriendlyName: "Hits", ServiceID: 5, Unit: "hit"}}}}
	var sl client.ServiceList
	require.NoError(t, xml.Unmarshal([]byte(encodeList(t, e, "services", "service", services)), &sl))
	require.Len(t, sl.Services, 1)
	s := sl.Services[0]
	assert.Equal(t, "5", s.ID)
	assert.Equal(t, "News & Co", s.Name)
	assert.Equal(t, "", s.Description)
	assert.Equal(t, "1", s.BackendVersion)
	require.Len(t, s.Metrics.Metrics, 1)
	assert.Equal(t, "Hits", s.Metrics.Metrics[0].FriendlyName)

	plan := cPlan{ID: 7, Name: "Basic", Type: "application_plan", State: "published", ServiceID: 5, SetupFee: 1.5, Default: true}
	var p client.Plan
	require.NoError(t, xml.Unmarshal([]byte(encodeOne(t, e, "plan", plan)), &p))
	assert.Equal(t, "false", p.Custom, "custom is an attribute")
	assert.True(t, p.Default, "default is an attribute")
	assert.Equal(t, "7", p.ID)
	assert.Equal(t, "Basic", p.PlanName)
	assert.Equal(t, "application_plan", p.Type)
	assert.Equal(t, "1.5", p.SetupFee)
	assert.Equal(t, "0.0", p.CostPerMonth)
	assert.Equal(t, "false", p.ApprovalRequired)

	var pl client.ApplicationPlansList
	require.NoError(t, xml.Unmarshal([]byte(encodeList(t, e, "plans", "plan", []cPlan{plan, {ID: 8, Custom: true}})), &pl))
	require.Len(t, pl.Plans, 2)
	assert.Equal(t, "true", pl.Plans[1].Custom)
	assert.False(t, pl.Plans[1].Default)

	var ml client.MetricList
	require.NoError(t, xml.Unmarshal([]byte(encodeList(t, e, "metrics", "metric", services[0].Metrics)), &ml))
	require.Len(t, ml.Metrics, 1)
	assert.Equal(t, client.Metric{XMLName: xml.Name{Local: "metric"}, ID: "10", MetricName: "hits", SystemName: "hits",
		FriendlyName: "Hits", ServiceID: "5", Unit: "hit"}, ml.Metrics[0])

	var ll client.LimitList
	require.NoError(t, xml.Unmarshal([]byte(encodeList(t, e, "limits", "limit", []cLimit{{ID: 3, MetricID: 10, PlanID: 7, Period: "eternity", Value: 0}})), &ll))
	require.Len(t, ll.Limits, 1)
	assert.Equal(t, client.Limit{XMLName: xml.Name{Local: "limit"}, ID: "3", MetricID: "10", PlanID: "7", Period: "eternity", Value: "0"}, ll.Limits[0])

	type proxy struct {
		ServiceID      int64           `json:"service_id"`
		Endpoint       string          `json:"endpoint"`
		PoliciesConfig json.RawMessage `json:"policies_config"`
		SecretToken    string          `json:"secret_token" wire:"secret"`
	}
	var px client.Proxy
	out := encodeOne(t, Encoder{Format: XML, Secrets: true}, "proxy", proxy{ServiceID: 5, Endpoint: "https://a:443",
		PoliciesConfig: json.RawMessage(`[{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`), SecretToken: "tok"})
	require.NoError(t, xml.Unmarshal([]byte(out), &px))
	assert.Equal(t, "5", px.ServiceID)
	assert.Equal(t, "tok", px.SecretToken)
	assert.JSONEq(t, `[{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`, px.PoliciesConfig)
}

// TestOfficialClientEndToEnd drives the codec through the official client's
// own request building: Basic auth, form and JSON bodies, expected statuses.
func TestOfficialClientEndToEnd(t *testing.T) {
	const token = "s3cret-token"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/api/services.json", func(w http.ResponseWriter, r *http.Request) {
		f, _ := FormatOf(r)
		p, err := ReadParams(w, r, 0)
		if err != nil {
			WriteError(w, f, err)
			return
		}
		var prod cProduct
		if err := Bind(p, &prod, true); err != nil {
			WriteError(w, f, err)
			return
		}
		if prod.SystemName == "taken" {
			WriteError(w, f, composition.Invalid("system_name", "has already been taken"))
			return
		}
		prod.ID, prod.State = 42, "incomplete"
		Write(w, f, http.StatusCreated, func(out io.Writer) error { return Encoder{Format: f}.One(out, "service", prod) })
	})
	mux.HandleFunc("GET /admin/api/services/{id}", func(w http.ResponseWriter, r *http.Request) {
		f, _ := FormatOf(r)
		WriteError(w, f, ErrNotFound)
	})
	mux.HandleFunc("GET /admin/api/services.xml", func(w http.ResponseWriter, r *http.Request) {
		f, _ := FormatOf(r)
		Write(w, f, http.StatusOK, func(out io.Writer) error {
			return Encoder{Format: f}.List(out, "services", "service", []cProduct{{ID: 1, Name: "a"}})
		})
	})
	mux.HandleFunc("PUT /admin/api/services/{id}/proxy/policies.json", func(w http.ResponseWriter, r *http.Request) {
		f, _ := FormatOf(r)
		p, err := ReadParams(w, r, 0)
		if err != nil {
			WriteError(w, f, err)
			return
		}
		var body struct {
			Policies []encPolicy `json:"policies_config"`
		}
		if err := Bind(p, &body, false); err != nil {
			WriteError(w, f, err)
			return
		}
		Write(w, f, http.StatusOK, func(out io.Writer) error {
			return Encoder{Format: f}.List(out, "policies_config", "", body.Policies)
		})
	})
	srv := httptest.NewServer(NewTokenChecker(token).Middleware(mux))
	defer srv.Close()

	portal, err := client.NewAdminPortalFromStr(srv.URL)
	require.NoError(t, err)
	c := client.NewThreeScale(portal, token, srv.Client())

	prod, err := c.CreateProduct("News", client.Params{"system_name": "news", "buyers_manage_apps": "true", "state": "ignored"})
	require.NoError(t, err)
	assert.Equal(t, client.ProductItem{ID: 42, Name: "News", SystemName: "news", State: "incomplete", BuyersManageApps: true}, prod.Element)

	_, err = c.CreateProduct("News", client.Params{"system_name": "taken"})
	var apiErr client.ApiErr
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnprocessableEntity, apiErr.Code())
	assert.Contains(t, apiErr.Error(), `{"system_name":["has already been taken"]}`)

	_, err = c.CreateProduct("News", client.Params{"intentions_required": "maybe"})
	require.ErrorAs(t, err, &apiErr)
	assert.Contains(t, apiErr.Error(), `{"intentions_required":["is not a boolean"]}`)

	_, err = c.Product(9)
	assert.True(t, client.IsNotFound(err), "%v", err)

	list, err := c.ListServices()
	require.NoError(t, err)
	require.Len(t, list.Services, 1)
	assert.Equal(t, "a", list.Services[0].Name)

	got, err := c.UpdatePolicies(1, &client.PoliciesConfigList{Policies: []client.PolicyConfig{
		{Name: "cors", Version: "builtin", Configuration: map[string]any{"allow_origin": "*"}, Enabled: true},
	}})
	require.NoError(t, err)
	require.Len(t, got.Policies, 1)
	assert.Equal(t, client.PolicyConfig{Name: "cors", Configuration: map[string]any{"allow_origin": "*"}, Enabled: true}, got.Policies[0],
		"version is not in the test's policy struct")

	bad := client.NewThreeScale(portal, "wrong", srv.Client())
	_, err = bad.ListServices()
	assert.True(t, client.IsForbidden(err), "%v", err)
	require.ErrorAs(t, err, &apiErr)
	assert.Contains(t, apiErr.Error(), "reason: Access denied")
}
