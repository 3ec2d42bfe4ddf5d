package inventory

// Batch is a set of writes an import makes: its hosts, their timeline
// events, the documents they name. They are applied in this order, so that
// a name one entry gives up is free for the next: hosts deleted; profiles, layouts and clusters put; hosts put;
// clusters, layouts and profiles deleted; BMC settings put; events appended.
type Batch struct {
	DeleteHosts    []string // MACs or hostnames
	Profiles       []Profile
	Layouts        []Layout
	Clusters       []Cluster
	Hosts          []Host
	DeleteClusters []string
	DeleteLayouts  []string
	DeleteProfiles []string
	BMCs           []BMC
	Events         []Event // each names its host by HostID (first MAC)
}

// Empty reports whether the batch writes nothing.
func (b *Batch) Empty() bool {
	return len(b.DeleteHosts)+len(b.Profiles)+len(b.Layouts)+len(b.Clusters)+len(b.Hosts)+
		len(b.DeleteClusters)+len(b.DeleteLayouts)+len(b.DeleteProfiles)+len(b.BMCs)+len(b.Events) == 0
}
