"""Business rules of incidents: signal intake and containment, the playbook's steps, the commander's actions."""
