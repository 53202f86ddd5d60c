//go:build agentonly

package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/swagger"
)

// This file and build_full.go are what differs between portolan's two
// builds (README "Two builds"). This one is the agent build (go build
// -tags agentonly): the entrypoint of app containers, with the agent and
// the commands a container runs, and none of the coordinator, the CLI's
// operator commands or libopenapi.

// buildUsage is the one line --help shows under the name.
const buildUsage = "the Portolan agent, a container's entrypoint (the agent build: the coordinator and the operators' commands are in the full build)"

// buildName names the build in `portolan version`.
const buildName = "agent"

// commands returns the agent build's commands.
func commands() []*cli.Command {
	return []*cli.Command{
		agentCommand(),
		statusCommand(),
		mapCommand(),
		versionCommand(),
		completionCommand(),
	}
}

// fullBuildOnly tells whether name is a command of the full build that this
// build lacks, so that asking for it says where it is.
func fullBuildOnly(name string) bool {
	switch name {
	case "coordinator", "export", "import", "apply", "diff", "gossip", "token", "swagger", "tls":
		return true
	}
	return false
}

// mgmtSchemaCheck is how the management proxy checks its spec: not against
// the OpenAPI schema, which would link libopenapi; the proxy reads the
// version, paths and operations it routes by (see mgmt.Config).
func mgmtSchemaCheck() swagger.SchemaCheck { return nil }

// coordinatorReadiness answers status --coordinator: this build has no
// coordinator to ask about.
func coordinatorReadiness(*cli.Context) ([]byte, int, error) {
	return nil, 0, errors.New("status --coordinator: this is the agent build of portolan, which has no coordinator; use the full build (the portolan binary and image)")
}
