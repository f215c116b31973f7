"""What every app builds on and nothing in it knows of the apps: errors, actors, versioned
writes, bulk writes, tabular reading, command-line and text helpers, handing work to a worker."""
