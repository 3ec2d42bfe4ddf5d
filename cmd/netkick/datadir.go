package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
)

// defaultData is the data directory when neither --data nor NETKICK_DATA names one.
const defaultData = "./netkick-data"

// envData is the --data default: NETKICK_DATA, else ./netkick-data.
func envData() string {
	if d := os.Getenv("NETKICK_DATA"); d != "" {
		return d
	}
	return defaultData
}

// needData fails when the data directory does not exist. Only serve and
// import create one; every other command run from the wrong directory would
// otherwise start a new, empty inventory without a word.
func (sf *storeFlags) needData() error {
	st, err := os.Stat(sf.data)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("data directory %s does not exist: pass --data DIR or set NETKICK_DATA to the directory `netkick serve` uses (only serve and import create it)", sf.data)
	case err != nil:
		return fmt.Errorf("data directory %s: %w", sf.data, err)
	case !st.IsDir():
		return fmt.Errorf("data directory %s is not a directory: pass --data DIR or set NETKICK_DATA", sf.data)
	}
	return nil
}

// dataNamed says whether the command line or the environment named the data
// directory (rather than the ./netkick-data default).
func dataNamed(c *cobra.Command) bool {
	return c.Flags().Changed("data") || os.Getenv("NETKICK_DATA") != ""
}

// needDataUnlessNamed is needData for commands that fill files into the data
// directory (bootfiles, rpm build): one named with --data or NETKICK_DATA is
// created, the implicit ./netkick-data must exist.
func (sf *storeFlags) needDataUnlessNamed(named bool) error {
	if named {
		return nil
	}
	return sf.needData()
}
