"""The SMX field runtime (site file, commissioning, plug-in host, store-and-forward queue) and the
local agents LESSAg and LEVChAg."""
