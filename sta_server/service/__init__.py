"""Transport-free operations: read, create, update, delete a resource path; one transaction each."""
