package manifest

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// The 3scale toolbox's and 3scale operator's Product and Backend custom
// resources (capabilities.3scale.net/v1beta1), as `3scale product export`
// writes them and the operator's apis/capabilities/v1beta1 types define
// them: maps keyed by system_name, camelCase names. Only what the decoder
// needs to read them strictly into Service and Backend; Kubernetes' own
// metadata and status are read and left. Their bounds are those of the
// fields they become (types.go), so that what a resource is read as reads
// again when sent home.

// crdAPIVersion is the apiVersion of the toolbox's and operator's resources.
const crdAPIVersion = "capabilities.3scale.net/v1beta1"

type crdProduct struct {
	Metadata json.RawMessage `json:"metadata"`
	Spec     productSpec     `json:"spec" manifest:"required"`
	Status   json.RawMessage `json:"status"`
}

type crdBackend struct {
	Metadata json.RawMessage `json:"metadata"`
	Spec     backendSpec     `json:"spec" manifest:"required"`
	Status   json.RawMessage `json:"status"`
}

type productSpec struct {
	Name               string                     `json:"name" manifest:"required"`
	SystemName         string                     `json:"systemName" manifest:"name"`
	Description        string                     `json:"description"`
	Deployment         *crdDeployment             `json:"deployment"`
	MappingRules       []crdMappingRule           `json:"mappingRules"`
	BackendUsages      map[string]crdBackendUsage `json:"backendUsages"`
	Metrics            map[string]crdMetric       `json:"metrics"`
	Methods            map[string]crdMethod       `json:"methods"`
	ApplicationPlans   map[string]crdPlan         `json:"applicationPlans"`
	ProviderAccountRef json.RawMessage            `json:"providerAccountRef"`
	Policies           []crdPolicy                `json:"policies"`
}

type backendSpec struct {
	Name               string               `json:"name" manifest:"required"`
	SystemName         string               `json:"systemName" manifest:"name"`
	PrivateBaseURL     string               `json:"privateBaseURL" manifest:"required"`
	Description        string               `json:"description"`
	MappingRules       []crdMappingRule     `json:"mappingRules"`
	Metrics            map[string]crdMetric `json:"metrics"`
	Methods            map[string]crdMethod `json:"methods"`
	ProviderAccountRef json.RawMessage      `json:"providerAccountRef"`
}

type crdDeployment struct {
	ApicastHosted      *crdHosted      `json:"apicastHosted"`
	ApicastSelfManaged *crdSelfManaged `json:"apicastSelfManaged"`
}

type crdHosted struct {
	Authentication *crdAuthentication `json:"authentication"`
}

type crdSelfManaged struct {
	Authentication          *crdAuthentication `json:"authentication"`
	StagingPublicBaseURL    string             `json:"stagingPublicBaseURL"`
	ProductionPublicBaseURL string             `json:"productionPublicBaseURL"`
}

type crdAuthentication struct {
	UserKey     *crdUserKey `json:"userkey"`
	AppKeyAppID *crdAppKey  `json:"appKeyAppID"`
	OIDC        *crdOIDC    `json:"oidc"`
}

type crdUserKey struct {
	AuthUserKey     string              `json:"authUserKey"`
	Credentials     string              `json:"credentials" manifest:"oneof=headers query authorization"`
	Security        *crdSecurity        `json:"security"`
	GatewayResponse *crdGatewayResponse `json:"gatewayResponse"`
}

type crdAppKey struct {
	AppID           string              `json:"appID"`
	AppKey          string              `json:"appKey"`
	Credentials     string              `json:"credentials" manifest:"oneof=headers query authorization"`
	Security        *crdSecurity        `json:"security"`
	GatewayResponse *crdGatewayResponse `json:"gatewayResponse"`
}

type crdOIDC struct {
	IssuerType               string              `json:"issuerType" manifest:"oneof=keycloak rest"`
	IssuerEndpoint           string              `json:"issuerEndpoint"`
	AuthenticationFlow       *crdFlows           `json:"authenticationFlow"`
	JwtClaimWithClientID     string              `json:"jwtClaimWithClientID"`
	JwtClaimWithClientIDType string              `json:"jwtClaimWithClientIDType" manifest:"oneof=plain liquid"`
	Credentials              string              `json:"credentials" manifest:"oneof=headers query authorization"`
	Security                 *crdSecurity        `json:"security"`
	GatewayResponse          *crdGatewayResponse `json:"gatewayResponse"`
}

// crdFlows is the CRDs' spelling of OIDCFlows.
type crdFlows struct {
	StandardFlowEnabled       bool `json:"standardFlowEnabled"`
	ImplicitFlowEnabled       bool `json:"implicitFlowEnabled"`
	ServiceAccountsEnabled    bool `json:"serviceAccountsEnabled"`
	DirectAccessGrantsEnabled bool `json:"directAccessGrantsEnabled"`
}

type crdSecurity struct {
	HostHeader         string `json:"hostHeader"`
	SecretToken        string `json:"secretToken"`
	SecuritySchemeType string `json:"securitySchemeType"`
	OpenIDConnectURL   string `json:"openIdConnectUrl"`
}

type crdGatewayResponse struct {
	ErrorStatusAuthFailed      crdInt `json:"errorStatusAuthFailed"`
	ErrorHeadersAuthFailed     string `json:"errorHeadersAuthFailed"`
	ErrorAuthFailed            string `json:"errorAuthFailed"`
	ErrorStatusAuthMissing     crdInt `json:"errorStatusAuthMissing"`
	ErrorHeadersAuthMissing    string `json:"errorHeadersAuthMissing"`
	ErrorAuthMissing           string `json:"errorAuthMissing"`
	ErrorStatusNoMatch         crdInt `json:"errorStatusNoMatch"`
	ErrorHeadersNoMatch        string `json:"errorHeadersNoMatch"`
	ErrorNoMatch               string `json:"errorNoMatch"`
	ErrorStatusLimitsExceeded  crdInt `json:"errorStatusLimitsExceeded"`
	ErrorHeadersLimitsExceeded string `json:"errorHeadersLimitsExceeded"`
	ErrorLimitsExceeded        string `json:"errorLimitsExceeded"`
}

type crdMappingRule struct {
	HTTPMethod      string `json:"httpMethod" manifest:"required,oneof=GET HEAD POST PUT DELETE OPTIONS PATCH"`
	Pattern         string `json:"pattern" manifest:"required"`
	MetricMethodRef string `json:"metricMethodRef" manifest:"required"`
	Increment       crdInt `json:"increment" manifest:"required,min=1"`
	Last            bool   `json:"last"`
}

type crdBackendUsage struct {
	Path string `json:"path"`
}

type crdMetric struct {
	FriendlyName string `json:"friendlyName"`
	Unit         string `json:"unit"`
	Description  string `json:"description"`
}

type crdMethod struct {
	FriendlyName string `json:"friendlyName"`
	Description  string `json:"description"`
}

type crdPlan struct {
	Name                string           `json:"name"`
	AppsRequireApproval bool             `json:"appsRequireApproval"`
	TrialPeriod         crdInt           `json:"trialPeriod" manifest:"min=0"`
	SetupFee            Decimal          `json:"setupFee"`
	CostMonth           Decimal          `json:"costMonth"`
	PricingRules        []crdPricingRule `json:"pricingRules"`
	Limits              []crdLimit       `json:"limits"`
	Published           *bool            `json:"published"`
	// State and Custom are what the toolbox writes beside the operator's
	// fields; a custom plan is read as a plain one.
	State  string `json:"state" manifest:"oneof=hidden published"`
	Custom bool   `json:"custom"`
}

type crdRef struct {
	SystemName string `json:"systemName" manifest:"required,name"`
	Backend    string `json:"backend" manifest:"name"`
}

type crdLimit struct {
	Period          string `json:"period" manifest:"required,oneof=eternity year month week day hour minute"`
	Value           crdInt `json:"value" manifest:"given,min=0"`
	MetricMethodRef crdRef `json:"metricMethodRef" manifest:"required"`
}

type crdPricingRule struct {
	From            crdInt  `json:"from" manifest:"required,min=1"`
	To              crdInt  `json:"to" manifest:"min=0"` // null: no upper bound
	PricePerUnit    Decimal `json:"pricePerUnit"`
	MetricMethodRef crdRef  `json:"metricMethodRef" manifest:"required"`
}

type crdPolicy struct {
	Name             string          `json:"name" manifest:"required"`
	Version          string          `json:"version"`
	Configuration    json.RawMessage `json:"configuration"`
	ConfigurationRef json.RawMessage `json:"configurationRef"`
	Enabled          bool            `json:"enabled"`
}

// crdInt is an integer of a CRD: a number, or a string holding one, as the
// toolbox writes some (a gateway response's status); null is 0.
type crdInt int64

func (i *crdInt) decodeNode(n *yaml.Node) error {
	if isNull(n) {
		*i = 0
		return nil
	}
	if v, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
		*i = crdInt(v)
		return nil
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return errors.New(strconv.Quote(n.Value) + " is not an integer")
	}
	*i = crdInt(f)
	return nil
}
