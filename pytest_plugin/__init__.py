"""pytest plugin for deploymock: fixtures that give each test a stateful vendor mock."""
