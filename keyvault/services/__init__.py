"""Business rules of key custody: lifecycle (states), the gate (every use), restriction, blast radius."""
