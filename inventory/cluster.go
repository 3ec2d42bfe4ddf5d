package inventory

// Cluster is a named LVS cluster: directors and virtual services. Real servers
// are the hosts tagged lvs-real-server whose Cluster field names it.
type Cluster struct {
	Name string `json:"name" yaml:"name"`
	// Primary and Backup are the director hosts (hostname or MAC).
	Primary string `json:"primary,omitempty" yaml:"primary,omitempty"`
	Backup  string `json:"backup,omitempty" yaml:"backup,omitempty"`
}
