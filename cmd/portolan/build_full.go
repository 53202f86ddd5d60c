//go:build !agentonly

package main

import (
	_ "time/tzdata" // the Analytics API's timezone parameter, in an image with no /usr/share/zoneinfo

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/swagger"
	"github.com/portolan/portolan/swagger/openapischema"
)

// This file and build_agent.go are what differs between portolan's two
// builds (README "Two builds"). This one is the full build: coordinator,
// agent and CLI.

// buildUsage is the one line --help shows under the name.
const buildUsage = "portable 3scale-style API management: coordinator, container agent and CLI in one binary"

// buildName names the build in `portolan version`.
const buildName = "full"

// commands returns portolan's commands.
func commands() []*cli.Command {
	return []*cli.Command{
		coordinatorCommand(),
		agentCommand(),
		statusCommand(),
		exportCommand(),
		importCommand(),
		applyCommand(), diffCommand(),
		gossipCommand(),
		mapCommand(),
		tokenCommand(),
		swaggerCommand(),
		tlsCommand(),
		versionCommand(),
		completionCommand(),
	}
}

// mgmtSchemaCheck is how the management proxy checks its spec: against
// the OpenAPI schema.
func mgmtSchemaCheck() swagger.SchemaCheck { return openapischema.Check }

// fullBuildOnly tells whether name is a command of the full build that this
// build lacks: none.
func fullBuildOnly(string) bool { return false }
