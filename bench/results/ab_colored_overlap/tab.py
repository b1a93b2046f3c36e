import json,glob,sys
def load(f):
    d=json.load(open(f)); r={}
    for c in d['cases']: r[(c['net'],c['B'],c['scheme'])]=(c['step_s_best'],c.get('halo_s_per_step'))
    return r,d['triad']['GBps'] if 'triad' in d else None
for f in sys.argv[1:]:
    r,t=load(f); s=f+" triad %.1f: "%t
    for net in ['lattice2d','er']:
        for B in [1,16]:
            if (net,B,'sync') in r and (net,B,'colored') in r:
                sy,co=r[(net,B,'sync')][0],r[(net,B,'colored')][0]
                s+="%s B%d %.2f (%.4g/%.4g) | "%(net[:3],B,sy/co,sy,co)
    print(s)
