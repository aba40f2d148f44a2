"""Built-in text encoder plugins (teachers): each module registers one."""
