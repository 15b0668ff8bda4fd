/* harules.h — Home Assistant's acceptance rules (HOME_ASSISTANT.md §3.1, §5.1) as one test table, for
 * the tests of the OBIS registry and of the discovery payloads. Typed in from the document, never
 * shared with the code under test (discovery.c keeps its own table). Test-only. */
#ifndef SM_TEST_HARULES_H
#define SM_TEST_HARULES_H

#include <stdbool.h>
#include <stddef.h>

/* binary_sensor device classes §5.1 suggests for relays and breakers; NULL-terminated. */
extern const char *const ha_binary_classes[];

/* Is s among the first n entries of l (stops at a NULL entry)? */
bool ha_listed(const char *const *l, size_t n, const char *s);

/* Fails the running cmocka test unless unit and state class are allowed for the device class (no
 * device class: any unit; the state class must still be one HA knows). what names the entity. */
void ha_assert_valid(const char *what, const char *dc, const char *unit, const char *sc);

#endif
