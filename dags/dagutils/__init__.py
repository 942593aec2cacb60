"""Code shared by the DAGs in this folder, versioned and deployed with them."""
