/*
 * A map from 64-bit ids to array positions (open addressing, linear
 * probing), so that plans and histories find a version in constant time:
 * loading or checking a plan of n versions is linear in n.
 */
#include <stdlib.h>

#include "internal.h"

/* splitmix64's finaliser: ids are often consecutive or dates. */
static size_t slot_of(uint64_t id, size_t cap)
{
	id ^= id >> 30;
	id *= 0xbf58476d1ce4e5b9ULL;
	id ^= id >> 27;
	id *= 0x94d049bb133111ebULL;
	id ^= id >> 31;
	return (size_t)id & (cap - 1);
}

static void put(migrate__idmap_slot *slots, size_t cap, uint64_t id, size_t pos)
{
	size_t i = slot_of(id, cap);

	while (slots[i].pos1 && slots[i].id != id)
		i = (i + 1) & (cap - 1);
	slots[i].id = id;
	slots[i].pos1 = pos + 1;
}

int migrate__idmap_put(migrate__idmap *m, uint64_t id, size_t pos)
{
	size_t i;

	/* At most half full. */
	if (2 * (m->n + 1) > m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		migrate__idmap_slot *slots = migrate__calloc(cap, sizeof *slots);

		if (!slots)
			return MIGRATE_ENOMEM;
		for (i = 0; i < m->cap; i++)
			if (m->slots[i].pos1)
				put(slots, cap, m->slots[i].id, m->slots[i].pos1 - 1);
		free(m->slots);
		m->slots = slots;
		m->cap = cap;
	}
	if (!migrate__idmap_get(m, id, NULL))
		m->n++;
	put(m->slots, m->cap, id, pos);
	return 0;
}

bool migrate__idmap_get(const migrate__idmap *m, uint64_t id, size_t *pos)
{
	size_t i;

	if (!m->cap)
		return false;
	for (i = slot_of(id, m->cap); m->slots[i].pos1; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].id == id) {
			if (pos)
				*pos = m->slots[i].pos1 - 1;
			return true;
		}
	}
	return false;
}

void migrate__idmap_free(migrate__idmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}
