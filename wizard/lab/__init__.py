"""The local lab: throwaway MariaDB, sshd hosts, NGINX and the fake Carbon pack."""
