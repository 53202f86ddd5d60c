package agent

import (
	"encoding/base64"
	"slices"
	"strings"
)

// agentSecretVars are the environment variables of the agent's secret
// flags (cmd/portolan: PORTOLAN_AGENT_<FLAG>): they configure the agent,
// and nothing the app needs.
var agentSecretVars = []string{
	"PORTOLAN_AGENT_TOKEN",
	"PORTOLAN_AGENT_MGMT_TOKEN",
	"PORTOLAN_AGENT_CONSUL_TOKEN",
	"PORTOLAN_AGENT_GOSSIP_KEY",
}

// consulTokenVars are the variables consul/api's default configuration
// reads the agent's Consul credentials from (a token when --consul-token is
// not given, HTTP basic auth "user:password"): with --consul they are the
// agent's.
var consulTokenVars = []string{"CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE", "CONSUL_HTTP_AUTH"}

// commandEnv is the environment CMD starts with: the agent's own, without
// the secrets only the agent needs. The app holds no join token (it would
// register instances of its own), no admin access token (the management
// proxy exists so that the app reaches the operations selected and no
// other), no Consul credential (it may deregister the service) and no gossip
// key. Withheld are the agent's secret variables (agentSecretVars), with
// --consul Consul's own credential variables (consulTokenVars), and any
// variable holding the join token, the management proxy's token, the
// Consul token (with --consul) or a gossip key under a name of the
// operator's (--mgmt-token "$THREESCALE_TOKEN"). Without --consul the
// Consul token is the app's own and stays. The names withheld are logged,
// never their values.
// An exec health check runs with the same environment (checkProbe).
func (a *Agent) commandEnv(environ []string) []string {
	env, withheld := a.secretFreeEnv(environ)
	if len(withheld) > 0 {
		a.log.Info().Strs("withheld", withheld).Msg("the agent's secrets are kept out of the command's environment")
	}
	return env
}

// secretFreeEnv is commandEnv without the log line: environ without the
// agent's secrets, and the names it left out.
func (a *Agent) secretFreeEnv(environ []string) (env, withheld []string) {
	var secrets []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			secrets = append(secrets, s)
		}
	}
	add(a.cfg.Token)
	names := agentSecretVars
	if a.cfg.Consul != "" {
		// Only then is the Consul token the agent's: without --consul,
		// --consul-token still reads CONSUL_HTTP_TOKEN, which is the app's.
		add(a.cfg.ConsulToken)
		names = slices.Concat(agentSecretVars, consulTokenVars)
	}
	if a.cfg.Mgmt != nil {
		add(a.cfg.Mgmt.Token)
	}
	if a.cfg.Gossip != nil {
		for _, k := range a.cfg.Gossip.Keys {
			add(base64.StdEncoding.EncodeToString(k))
			add(base64.RawStdEncoding.EncodeToString(k))
		}
	}
	return withoutSecrets(environ, names, secrets)
}

// withoutSecrets returns environ without the variables named in names and
// those whose value, or one of its comma-separated parts (a repeatable
// flag's variable), is one of secrets; and the names it left out.
func withoutSecrets(environ, names, secrets []string) (env, withheld []string) {
	env = make([]string, 0, len(environ))
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if slices.Contains(names, name) || holdsSecret(value, secrets) {
			withheld = append(withheld, name)
			continue
		}
		env = append(env, kv)
	}
	return env, withheld
}

func holdsSecret(value string, secrets []string) bool {
	for part := range strings.SplitSeq(value, ",") {
		if part = strings.TrimSpace(part); part != "" && slices.Contains(secrets, part) {
			return true
		}
	}
	return false
}
