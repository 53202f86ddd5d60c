package agent

import (
	"fmt"
	"net"
)

// resolveAddress turns --address into an IP: empty picks the first
// non-loopback IPv4 of the machine, an IP is taken as is, anything else names
// an interface whose first IPv4 is used.
func resolveAddress(spec string) (string, error) {
	if ip := net.ParseIP(spec); ip != nil {
		return ip.String(), nil
	}
	var ifaces []net.Interface
	if spec == "" {
		all, err := net.Interfaces()
		if err != nil {
			return "", fmt.Errorf("list interfaces: %w", err)
		}
		ifaces = all
	} else {
		iface, err := net.InterfaceByName(spec)
		if err != nil {
			return "", fmt.Errorf("--address %q is neither an IP nor an interface: %w", spec, err)
		}
		ifaces = []net.Interface{*iface}
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || (spec == "" && iface.Flags&net.FlagLoopback != 0) {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && (spec != "" || !n.IP.IsLoopback()) {
				return n.IP.String(), nil
			}
		}
	}
	if spec == "" {
		return "127.0.0.1", nil // a machine with loopback only: still runs
	}
	return "", fmt.Errorf("interface %s has no IPv4 address", spec)
}
