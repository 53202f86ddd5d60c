// Package gossip joins coordinators and agents into one gossip cluster on
// github.com/hashicorp/memberlist and carries three things over it:
//
//   - node metadata (role, service, instance id, API address and composition
//     revision), held within memberlist's 512-byte limit;
//   - the composition: a node announces a new revision by broadcast, and a
//     node that is behind fetches the document from a peer that has it over
//     memberlist's TCP path, asking the peer that told it first; push/pull
//     state carries every node's newest revision, so a node that joins or
//     comes back from a partition catches up within the push/pull interval.
//     The highest revision wins and a node never goes back to an older one.
//     A small change travels as a delta (delta.go) from the revision before:
//     inside the announcement when it fits in a packet, so most nodes never
//     fetch, else on request from a node that holds that revision; the whole
//     document remains the fallback. A delta names its base and target by
//     SHA-256, and what it rebuilds goes through Accept like any document;
//   - membership events (join, leave, dead, update), a second failure signal
//     beside heartbeats.
//
// Clusters are kept apart by memberlist's label (Config.Cluster) and by
// AES-GCM encryption, which also authenticates: a node without the key
// learns nothing and injects nothing. Encryption is the default: a node
// runs without keys only when told Insecure. Node.SetKeys rotates the
// keyring of a running node. The keyring is the cluster's, though: where
// documents must stay with some of its nodes, Config.Envelope seals every
// document and delta on the wire under a key only those hold (envelope.go),
// and a node drops what does not open, as from a stranger.
//
// The package knows nothing of the composition's shape: documents are opaque
// bytes handed over by a Source and delivered to OnComposition.
package gossip
