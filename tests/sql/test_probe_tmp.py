import pytest
def test_probe(dataset):
    client, ids = dataset
    print(ids)
    import json
    for q in ["Observations?$select=id,result,phenomenonTime&$orderby=id", "Things?$select=id,name,properties"]:
        r = client.get("/v1.1/" + q)
        print(r.status_code, json.dumps(r.get_json())[:3000])
