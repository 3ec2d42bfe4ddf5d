package main

import (
	"context"
)

const renderUsage = `render kickstart|pxelinux|ipxe|grub HOST     (HOST: MAC or hostname)`

func runRender(ctx context.Context, a *app, args []string) error {
	var sf storeFlags
	fs := a.newFlags("render", renderUsage)
	sf.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{"want KIND and HOST; usage: netkick " + renderUsage}
	}
	b, err := sf.open()
	if err != nil {
		return err
	}
	defer b.Close()
	out, err := b.Render(ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(out)
	return err
}
