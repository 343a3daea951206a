"""Tables in and out: reading a dataset file under limits (in a worker process for the app),
mapping its columns, splitting it before any augmentation, streaming it in chunks through one
reader interface, and writing rows in the user's own schema, safely."""
