// Command ferretdb runs FerretDB v1 (MongoDB wire protocol on top of SQLite) for the
// orderflow dev stack. It embeds github.com/FerretDB/FerretDB/ferretdb, which turns
// telemetry off and opens no debug HTTP listener, so the only socket it opens is the
// MongoDB listener given by -listen-addr.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "host:port of the MongoDB wire protocol listener")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite URL of the directory that holds one file per database; must end with a slash")
	logLevel := flag.String("log-level", "error", "debug, info, warn or error (warn logs every failed command, info every connection)")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		log.Fatalf("bad -log-level: %s", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// New binds the listener, so a port that is already taken fails here, before Run.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listenAddr},
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
		Logger:    logger,
	})
	if err != nil {
		log.Fatal(err)
	}

	// SIGTERM is what `devstack down` sends; Run returns once ctx is cancelled and the
	// listener, the connections and the SQLite files are closed.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	log.Printf("ferretdb listening on %s, data in %s", *listenAddr, *sqliteURL)
	if err := f.Run(ctx); err != nil {
		log.Fatal(err)
	}
	log.Print("ferretdb stopped")
}
