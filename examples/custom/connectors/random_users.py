"""The random-user example of the Nilus custom-source guide, with its shape kept: the resource
and the @nilus.source function in one module, the CustomSource class in another that imports it
by its path from the repository's root."""

import nilus

# A static set of users, as the random-user API returns them.
sample_users = [
    {
        "gender": "female",
        "name": {"title": "Dr", "first": "Ines", "last": "Moreau"},
        "location": {"city": "Lyon", "state": "Auvergne-Rhone-Alpes", "country": "France"},
        "email": "ines.moreau@example.com",
        "dob": {"date": "1984-02-17T09:12:44.000Z", "age": 42},
        "phone": "04-78-00-00-01",
    },
    {
        "gender": "male",
        "name": {"title": "Mr", "first": "Kofi", "last": "Mensah"},
        "location": {"city": "Kumasi", "state": "Ashanti", "country": "Ghana"},
        "email": "kofi.mensah@example.com",
        "dob": {"date": "1990-09-30T17:45:10.000Z", "age": 36},
        "phone": "032-000-0002",
    },
    {
        "gender": "female",
        "name": {"title": "Ms", "first": "Sigrid", "last": "Aasen"},
        "location": {"city": "Bergen", "state": "Vestland", "country": "Norway"},
        "email": "sigrid.aasen@example.com",
        "dob": {"date": "1979-12-03T06:30:00.000Z", "age": 46},
        "phone": "55-00-00-03",
    },
]


@nilus.resource()
def fetch_random_users():
    for d in sample_users:
        yield d


@nilus.source
def random_user_source(uri, table, **kwargs):
    return fetch_random_users()
