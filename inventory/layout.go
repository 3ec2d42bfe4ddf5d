package inventory

// Layout is a named disk layout. Its rules are planned and turned into a %pre
// script by kickstart/layout; the inventory only stores and validates its shape.
type Layout struct {
	Name string `json:"name" yaml:"name"`
	// Label is the partition table type: "msdos" or "gpt".
	Label string `json:"label,omitempty" yaml:"label,omitempty"`
}
